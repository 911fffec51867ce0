import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { FallbackRateLimiter, MemoryTokenBucket, RedisTokenBucket, createRateLimiter, type RateLimitDecision } from '../../../src/resilience/rate-limiter.js';
import { redisOrSkip, redisServerOrSkip, sharedRedis } from '../../helpers/redis.js';

function client(t: Test, url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  c.on('error', () => undefined);
  t.teardown(() => c.disconnect());
  return c;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('atomic: 200 concurrent takes from two clients allow exactly capacity', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const [a, b] = [client(t, redis.url), client(t, redis.url)];
  await Promise.all([a.ping(), b.ping()]);
  // A refill this slow adds < 0.01 token over the test: only the initial 50 can be spent.
  const options = { namespace: redis.namespace, name: 'api', capacity: 50, refillPerSecond: 0.001 };
  const limiters = [new RedisTokenBucket({ ...options, client: a }), new RedisTokenBucket({ ...options, client: b })];
  const decisions = await Promise.all(Array.from({ length: 200 }, (_, i) => limiters[i % 2]!.take('subject-1')));
  const allowed = decisions.filter((d) => d.allowed);
  t.equal(allowed.length, 50, 'exactly capacity allowed');
  t.same(allowed.map((d) => d.remaining).sort((x, y) => y - x), Array.from({ length: 50 }, (_, i) => 49 - i), 'each token spent once: remaining 49..0');
  const refused = decisions.filter((d) => !d.allowed);
  t.ok(refused.every((d) => d.remaining === 0 && d.retryAfterMs > 900_000 && d.retryAfterMs <= 1_000_000), 'refusals say ~1000 s (1 token at 0.001/s)');
  t.ok((await limiters[0]!.take('subject-2')).allowed, 'another subject is untouched');
});

t.test('refill math on an injected clock, key layout and expiry', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const c = client(t, redis.url);
  let now = 1_000_000;
  const limiter = new RedisTokenBucket({ client: c, namespace: redis.namespace, name: 'api', capacity: 10, refillPerSecond: 2, now: () => now });
  const key = `sidecache:${redis.namespace}:rl:api:s1`;
  t.equal(limiter.key('s1'), key);
  for (let i = 0; i < 10; i++) t.ok((await limiter.take('s1')).allowed);
  t.same(await limiter.take('s1'), { allowed: false, remaining: 0, retryAfterMs: 500 });
  const pttl = await c.pttl(key);
  t.ok(pttl > 4_900 && pttl <= 5_000, `expires when it would be full again (10 tokens at 2/s): PTTL ${pttl}`);
  now += 499;
  t.same(await limiter.take('s1'), { allowed: false, remaining: 0, retryAfterMs: 1 });
  now += 1;
  t.same(await limiter.take('s1'), { allowed: true, remaining: 0, retryAfterMs: 0 });
  now += 2_750;
  t.same(await limiter.take('s1', 2), { allowed: true, remaining: 3, retryAfterMs: 0 }, '5.5 tokens, minus 2');
  now -= 10_000;
  t.same(await limiter.take('s1'), { allowed: true, remaining: 2, retryAfterMs: 0 }, 'a clock stepping back refills nothing');
  now += 3_600_000;
  t.same(await limiter.take('s1'), { allowed: true, remaining: 9, retryAfterMs: 0 }, 'capped at capacity');
  t.same(await c.hgetall(key), { t: '9', ts: String(now) }, 'a small hash: tokens and time');
  await t.rejects(limiter.take('s1', 11), RangeError);
  await t.rejects(limiter.take(''), RangeError);
});

t.test('server TIME by default; an idle bucket vanishes once it would be full', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const c = client(t, redis.url);
  const limiter = new RedisTokenBucket({ client: c, namespace: redis.namespace, name: 'api', capacity: 2, refillPerSecond: 100 });
  t.ok((await limiter.take('s')).allowed);
  t.ok((await limiter.take('s')).allowed);
  const third = await limiter.take('s');
  if (!third.allowed) t.ok(third.retryAfterMs >= 1 && third.retryAfterMs <= 10, `retry in ${third.retryAfterMs} ms at 100/s`);
  t.equal(await c.exists(limiter.key('s')), 1);
  await sleep(60);
  t.equal(await c.exists(limiter.key('s')), 0, 'expired: 2 tokens at 100/s is 20 ms');
  t.same(await limiter.take('s'), { allowed: true, remaining: 1, retryAfterMs: 0 }, 'and reads as full');
});

t.test('limits with different names never share a bucket; the script is defined once per client', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const c = client(t, redis.url);
  const one = new RedisTokenBucket({ client: c, namespace: redis.namespace, name: 'jira', capacity: 1, refillPerSecond: 0.001 });
  const two = new RedisTokenBucket({ client: c, namespace: redis.namespace, name: 'salesforce', capacity: 1, refillPerSecond: 0.001 });
  t.ok((await one.take('s')).allowed);
  t.notOk((await one.take('s')).allowed);
  t.ok((await two.take('s')).allowed);
  t.throws(() => new RedisTokenBucket({ client: c, namespace: 'bad ns', name: 'x', capacity: 1, refillPerSecond: 1 }), /namespace/);
  t.throws(() => new RedisTokenBucket({ client: c, namespace: 'ns', name: 'a:b', capacity: 1, refillPerSecond: 1 }), /name/);
});

t.test('createRateLimiter with Redis shares the bucket across instances', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const [a, b] = [client(t, redis.url), client(t, redis.url)];
  const options = { namespace: redis.namespace, name: 'api', capacity: 3, refillPerSecond: 0.001 };
  const instances = [createRateLimiter({ ...options, redis: sharedRedis(a) }), createRateLimiter({ ...options, redis: sharedRedis(b) })];
  t.ok(instances[0] instanceof FallbackRateLimiter);
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < 6; i++) decisions.push(await instances[i % 2]!.take('s'));
  t.same(decisions.map((d) => d.allowed), [true, true, true, false, false, false], 'one limit for both instances');
});

t.test('Redis unreachable (closed port): every take is answered from memory, fast, none fails', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  await server.stop();
  const c = createRedisClient(server.url, { connectTimeoutMs: 500, name: 'rl-test', log: () => undefined });
  t.teardown(() => c.disconnect());
  const reasons: string[] = [];
  const limiter = createRateLimiter({ redis: sharedRedis(c), namespace: 'ns', name: 'api', capacity: 3, refillPerSecond: 0.001, onFallback: (r) => reasons.push(r) });
  const started = performance.now();
  const decisions: RateLimitDecision[] = [];
  for (let i = 0; i < 5; i++) decisions.push(await limiter.take('s'));
  const elapsed = performance.now() - started;
  t.same(decisions.map((d) => d.allowed), [true, true, true, false, false], 'the memory bucket enforces the limit');
  t.ok(elapsed < 250, `5 takes in ${elapsed.toFixed(1)} ms`);
  t.same(reasons, ['error', 'error', 'error', 'breaker_open', 'breaker_open']);
});

t.test('Redis slow (paused): the memory bucket answers at the timeout', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  const c = createRedisClient(server.url, { connectTimeoutMs: 1_000, name: 'rl-test', log: () => undefined });
  t.teardown(() => c.disconnect());
  await waitForReady(c, 5_000);
  const admin = client(t, server.url);
  const reasons: string[] = [];
  const limiter = new FallbackRateLimiter({
    primary: new RedisTokenBucket({ client: c, namespace: 'ns', name: 'api', capacity: 5, refillPerSecond: 0.001 }),
    fallback: new MemoryTokenBucket({ capacity: 5, refillPerSecond: 0.001 }),
    timeoutMs: 50,
    onFallback: (r) => reasons.push(r),
  });
  t.same(await limiter.take('s'), { allowed: true, remaining: 4, retryAfterMs: 0 }, 'from Redis');
  await admin.call('CLIENT', 'PAUSE', '500', 'ALL');
  const started = performance.now();
  const decision = await limiter.take('s');
  const elapsed = performance.now() - started;
  t.same(decision, { allowed: true, remaining: 4, retryAfterMs: 0 }, 'from memory (its own full bucket)');
  t.ok(elapsed >= 45 && elapsed < 400, `answered at the ${elapsed.toFixed(1)} ms timeout`);
  t.same(reasons, ['timeout']);
});

t.test('Redis stopped mid-load: no take fails', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  const c = createRedisClient(server.url, { connectTimeoutMs: 1_000, name: 'rl-test', log: () => undefined });
  t.teardown(() => c.disconnect());
  await waitForReady(c, 5_000);
  const limiter = createRateLimiter({ redis: sharedRedis(c), namespace: 'ns', name: 'api', capacity: 1_000, refillPerSecond: 1 });
  const takes: Promise<RateLimitDecision>[] = [];
  for (let i = 0; i < 100; i++) {
    takes.push(limiter.take(`s${i % 7}`));
    if (i === 50) await server.stop();
    await sleep(1);
  }
  const results = await Promise.allSettled(takes);
  t.equal(results.filter((r) => r.status === 'rejected').length, 0, 'all 100 answered');
  t.ok(results.every((r) => r.status === 'fulfilled' && r.value.allowed), 'all allowed (well under the limit)');
});
