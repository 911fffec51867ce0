import t from 'tap';
import { FallbackRateLimiter, MemoryTokenBucket, createRateLimiter, takeTokens, type RateLimitDecision, type RateLimiter } from '../../../src/resilience/rate-limiter.js';
import { fakeClock, flush, track } from '../../helpers/clock.js';

const BUCKET = { capacity: 10, refillPerSecond: 2 };

t.test('takeTokens: a new bucket is full; a take spends; a refusal costs nothing', async (t) => {
  const first = takeTokens(undefined, 1, 1_000, BUCKET);
  t.same(first, { state: { tokens: 9, updatedAt: 1_000 }, decision: { allowed: true, remaining: 9, retryAfterMs: 0 } });
  const empty = { tokens: 0.25, updatedAt: 1_000 };
  const refused = takeTokens(empty, 1, 1_000, BUCKET);
  t.same(refused.decision, { allowed: false, remaining: 0, retryAfterMs: 375 }, '0.75 tokens at 2/s = 375 ms');
  t.equal(refused.state.tokens, 0.25, 'nothing spent');
  t.same(takeTokens(empty, 3, 1_000, BUCKET).decision, { allowed: false, remaining: 0, retryAfterMs: 1_375 }, 'a bigger cost waits longer');
});

t.test('takeTokens: refill by elapsed time, capped at capacity; time going back refills nothing', async (t) => {
  const state = { tokens: 0, updatedAt: 0 };
  t.equal(takeTokens(state, 1, 499, BUCKET).decision.allowed, false, '0.998 tokens after 499 ms');
  t.same(takeTokens(state, 1, 500, BUCKET).decision, { allowed: true, remaining: 0, retryAfterMs: 0 }, 'exactly one after 500 ms');
  t.same(takeTokens(state, 1, 499, BUCKET).decision.retryAfterMs, 1, 'float noise does not add a millisecond');
  t.same(takeTokens(state, 1, 2_750, BUCKET), { state: { tokens: 4.5, updatedAt: 2_750 }, decision: { allowed: true, remaining: 4, retryAfterMs: 0 } });
  t.equal(takeTokens(state, 1, 3_600_000, BUCKET).state.tokens, 9, 'never above capacity');
  t.same(takeTokens({ tokens: 3, updatedAt: 5_000 }, 1, 4_000, BUCKET).state, { tokens: 2, updatedAt: 4_000 }, 'a clock step back');
});

t.test('MemoryTokenBucket: burst of capacity, then the refill rate', async (t) => {
  const clock = fakeClock();
  const limiter = new MemoryTokenBucket({ ...BUCKET, clock });
  const burst: RateLimitDecision[] = [];
  for (let i = 0; i < 11; i++) burst.push(await limiter.take('s1'));
  t.same(burst.map((d) => d.allowed), [...Array(10).fill(true), false]);
  t.same(burst.map((d) => d.remaining), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
  t.equal(burst[10]!.retryAfterMs, 500);
  t.ok((await limiter.take('s2')).allowed, 'another subject has its own bucket');
  clock.advance(499);
  t.notOk((await limiter.take('s1')).allowed);
  clock.advance(1);
  t.ok((await limiter.take('s1')).allowed);
  t.notOk((await limiter.take('s1')).allowed);
  clock.advance(60_000);
  t.same(await limiter.take('s1', 4), { allowed: true, remaining: 6, retryAfterMs: 0 }, 'full again, cost 4');
});

t.test('MemoryTokenBucket: bounded; an evicted subject starts full again', async (t) => {
  const clock = fakeClock();
  const limiter = new MemoryTokenBucket({ capacity: 1, refillPerSecond: 0.001, maxSubjects: 3, clock });
  t.ok(limiter.takeSync('a').allowed);
  t.notOk(limiter.takeSync('a').allowed);
  for (const s of ['b', 'c', 'd']) limiter.takeSync(s);
  t.equal(limiter.size, 3);
  t.ok(limiter.takeSync('a').allowed, 'forgotten (the price of a memory bound)');
});

t.test('bad costs and options are refused', async (t) => {
  const limiter = new MemoryTokenBucket(BUCKET);
  for (const cost of [0, -1, 11, Number.NaN, Number.POSITIVE_INFINITY]) t.throws(() => limiter.takeSync('s', cost), RangeError, `cost ${cost}`);
  await t.rejects(limiter.take('s', 11), RangeError, 'take() rejects rather than throwing');
  t.throws(() => new MemoryTokenBucket({ capacity: 0, refillPerSecond: 1 }), /capacity/);
  t.throws(() => new MemoryTokenBucket({ capacity: 1, refillPerSecond: 0 }), /refillPerSecond/);
  t.throws(() => new MemoryTokenBucket({ ...BUCKET, maxSubjects: 0 }), /maxSubjects/);
  t.throws(() => new FallbackRateLimiter({ primary: limiter, fallback: limiter, timeoutMs: 0 }), /timeoutMs/);
});

/** A primary whose takes are answered by the test. */
function controlledPrimary() {
  const calls: { resolve: (d: RateLimitDecision) => void; reject: (e: unknown) => void }[] = [];
  const primary: RateLimiter = {
    take: () => new Promise<RateLimitDecision>((resolve, reject) => calls.push({ resolve, reject })),
  };
  return { primary, calls };
}

const PRIMARY_SAYS = { allowed: false, remaining: 0, retryAfterMs: 1234 };

t.test('FallbackRateLimiter: the primary decides while healthy', async (t) => {
  const clock = fakeClock();
  const { primary, calls } = controlledPrimary();
  const limiter = new FallbackRateLimiter({ primary, fallback: new MemoryTokenBucket(BUCKET), clock });
  const decision = track(limiter.take('s'));
  calls[0]!.resolve(PRIMARY_SAYS);
  await flush();
  t.same(decision.value, PRIMARY_SAYS);
  t.match(limiter.stats(), { primary: 1, fallback: 0 });
  t.equal(clock.pending(), 0, 'the timeout was cancelled');
});

t.test('FallbackRateLimiter: errors and timeouts fall back to memory, never fail the request', async (t) => {
  const clock = fakeClock();
  const { primary, calls } = controlledPrimary();
  const reasons: string[] = [];
  const limiter = new FallbackRateLimiter({ primary, fallback: new MemoryTokenBucket({ ...BUCKET, clock }), clock, timeoutMs: 50, onFallback: (r) => reasons.push(r) });

  const failed = track(limiter.take('s'));
  calls[0]!.reject(new Error('Connection is closed.'));
  await flush();
  t.same(failed.value, { allowed: true, remaining: 9, retryAfterMs: 0 }, 'the memory bucket answered');

  const slow = track(limiter.take('s'));
  clock.advance(49);
  await flush();
  t.equal(slow.state, 'pending');
  clock.advance(1);
  await flush();
  t.same(slow.value, { allowed: true, remaining: 8, retryAfterMs: 0 }, 'answered by memory at the timeout');
  calls[1]!.resolve(PRIMARY_SAYS); // the late answer changes nothing
  await flush();
  t.same(reasons, ['error', 'timeout']);
  t.match(limiter.stats(), { primary: 0, fallback: 2, errors: 1, timeouts: 1 });
});

t.test('FallbackRateLimiter: after 3 failures the primary is skipped for 5 s, then probed', async (t) => {
  const clock = fakeClock();
  let primaryCalls = 0;
  let healthy = false;
  const primary: RateLimiter = {
    take: async () => {
      primaryCalls += 1;
      if (!healthy) throw new Error('down');
      return PRIMARY_SAYS;
    },
  };
  const reasons: string[] = [];
  const limiter = new FallbackRateLimiter({ primary, fallback: new MemoryTokenBucket({ ...BUCKET, clock }), clock, onFallback: (r) => reasons.push(r) });
  for (let i = 0; i < 5; i++) await limiter.take('s');
  t.equal(primaryCalls, 3, 'not asked once the breaker opened');
  t.same(reasons, ['error', 'error', 'error', 'breaker_open', 'breaker_open']);
  healthy = true;
  clock.advance(5_000);
  t.same(await limiter.take('s'), PRIMARY_SAYS, 'the probe went to the primary');
  t.same(await limiter.take('s'), PRIMARY_SAYS);
  t.match(limiter.stats(), { primary: 2, fallback: 5, errors: 3, skipped: 2 });
});

t.test('FallbackRateLimiter: a bad cost is the caller’s bug and is thrown', async (t) => {
  const limiter = new FallbackRateLimiter({ primary: new MemoryTokenBucket(BUCKET), fallback: new MemoryTokenBucket(BUCKET) });
  await t.rejects(limiter.take('s', 100), RangeError);
  t.match(limiter.stats(), { errors: 0, fallback: 0 });
});

t.test('createRateLimiter without Redis is a memory bucket', async (t) => {
  const limiter = createRateLimiter({ ...BUCKET, redis: null, namespace: 'ns', name: 'api' });
  t.ok(limiter instanceof MemoryTokenBucket);
});
