import t from 'tap';
import type { Config } from '../../../src/config/types.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { redisServerOrSkip } from '../../helpers/redis.js';
import { closedPort, fmt, httpClient, latencySummary, readyz, redisClient, redisIndexKey, runLoad, versionedUpstream, waitFor } from './helpers.js';

const READ_TIMEOUT_MS = 50;
const COOLDOWN_MS = 500;
const UPSTREAM_DELAY_MS = 20;
/** Scheduling slack on a loaded 2-core machine (client, proxy and upstream share one event loop). */
const MARGIN_MS = 250;
const POSTGRES_OFF = { enabled: false, readTimeoutMs: 250, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 };

function config(upstream: string, redisUrl: string, namespace: string, options: { memory: boolean; cooldownMs: number }): Config {
  return testConfig([{ target: upstream, rules: [{ path: '/items/:id', ttlMs: 600_000 }] }], {
    cache: {
      keySecret: 'redis-failure-secret',
      namespace,
      memory: { enabled: options.memory, maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 },
      redis: { url: redisUrl, readTimeoutMs: READ_TIMEOUT_MS, compressAboveBytes: 8192, writeQueueSize: 1000 },
      postgres: POSTGRES_OFF,
      breaker: { failureThreshold: 5, cooldownMs: options.cooldownMs },
    },
  });
}

t.test('Redis unreachable at start-up: sidecache starts, serves, and reports the tier down', async (t) => {
  const upstream = await versionedUpstream(t);
  const port = await closedPort();
  const started = performance.now();
  const proxy = await startProxy(t, config(upstream.url, `redis://127.0.0.1:${port}`, 'closed-port', { memory: true, cooldownMs: 30_000 }));
  const startMs = performance.now() - started;
  t.ok(startMs < 5_000, `started in ${fmt(startMs)}`);
  const get = httpClient(t);

  // 25 paths, each twice (a miss, then a memory hit), 5 at a time.
  const paths = Array.from({ length: 50 }, (_, i) => `/api/items/${i % 25}`);
  const results = [];
  for (let i = 0; i < paths.length; i += 5) results.push(...(await Promise.all(paths.slice(i, i + 5).map((p) => get(proxy.url + p)))));
  t.equal(results.filter((r) => r.status !== 200).length, 0, 'zero failed requests of 50');
  t.equal(results.filter((r) => r.headers['x-cache'] === 'MISS').length, 25, '25 misses');
  t.equal(results.filter((r) => r.headers['x-cache'] === 'HIT').length, 25, '25 hits (memory)');
  t.ok(results.every((r) => r.headers['x-cache-tier'] === undefined || r.headers['x-cache-tier'] === 'memory'));
  t.comment(`latencies with Redis refused: ${latencySummary(results)}`);

  const ready = await readyz(proxy.url);
  t.equal(ready.status, 200, '/readyz stays 200');
  t.comment(`/readyz: ${JSON.stringify(ready.body)}`);
  t.equal(ready.body.tiers['redis'], 'down', 'tiers.redis is down (breaker open)');
  t.equal(ready.body.tiers['memory'], 'up');
  t.equal(proxy.storage.redis!.breakerState, 'open');
});

t.test('Redis dies mid-load: no failed request, no hang; the tier is skipped, then comes back', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  const upstream = await versionedUpstream(t, UPSTREAM_DELAY_MS);
  const inspect = redisClient(t, server.url);
  // A clock we can move forward at the end, past the 30 s "degraded" window (see below).
  let skew = 0;
  const now = () => Date.now() + skew;
  const namespace = 'failure';
  // Memory off: every request reads Redis, so the whole load exercises the Redis failure path.
  const proxy = await startProxy(t, config(upstream.url, server.url, namespace, { memory: false, cooldownMs: COOLDOWN_MS }), { now });
  const get = httpClient(t);
  const paths = Array.from({ length: 20 }, (_, i) => `/api/items/${i}`);

  // Warm up: 20 entries in Redis, each then a Redis hit.
  for (const path of paths) t.equal((await get(proxy.url + path)).headers['x-cache'], 'MISS');
  await waitFor('20 entries in Redis', async () => (await inspect.zcard(redisIndexKey(namespace))) === 20);
  const warm = await Promise.all(paths.map((path) => get(proxy.url + path)));
  t.ok(warm.every((r) => r.headers['x-cache-tier'] === 'redis'), 'warm: every path is a Redis hit');
  t.equal((await readyz(proxy.url)).body.tiers['redis'], 'up');

  // 300 requests over ~3 s from 10 loops; Redis is stopped after 1 s.
  let deadFrom = Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.add((await readyz(proxy.url)).body.tiers['redis']!);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const load = runLoad({ base: proxy.url, paths, loops: 10, perLoop: 30, durationMs: 3_000, get });
  const loadStarted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await server.stop();
  deadFrom = performance.now() - loadStarted;
  const { samples } = await load;
  watching = false;
  await watcher;

  t.equal(samples.length, 300);
  const failed = samples.filter((s) => s.status !== 200);
  t.equal(failed.length, 0, `zero failed requests of 300${failed.length > 0 ? `: ${JSON.stringify(failed.slice(0, 3))}` : ''}`);
  const before = samples.filter((s) => s.startedAt + s.ms < 1_000);
  const dead = samples.filter((s) => s.startedAt >= deadFrom);
  t.ok(before.length > 50 && dead.length > 100, `${before.length} requests before the stop, ${dead.length} after Redis was dead`);
  t.comment(`Redis stopped at ${fmt(deadFrom)} into the load`);
  t.comment(`before the stop: ${latencySummary(before)}`);
  t.comment(`Redis dead:      ${latencySummary(dead)}; tiers: ${[...new Set(dead.map((s) => `${s.cache}/${s.tier ?? '-'}`))].join(' ')}`);
  const bound = UPSTREAM_DELAY_MS + READ_TIMEOUT_MS + MARGIN_MS;
  const slow = dead.filter((s) => s.ms >= bound);
  t.equal(slow.length, 0, `every request while Redis is dead took < ${bound} ms (upstream ${UPSTREAM_DELAY_MS} + readTimeout ${READ_TIMEOUT_MS} + margin ${MARGIN_MS})${slow.length ? `; slow: ${slow.map((s) => fmt(s.ms)).join(', ')}` : ''}`);
  t.ok(dead.every((s) => s.tier === undefined), 'no hit claims the dead Redis tier');
  t.ok(seen.has('down'), `/readyz showed redis "down" while it was dead (seen: ${[...seen].join(', ')})`);
  t.equal(proxy.storage.redis!.breakerState === 'closed', false, 'breaker not closed while Redis is dead');

  // Back: a read probes the half-open breaker, which closes on success.
  const restartedAt = performance.now();
  await server.start();
  let probe = 0;
  await waitFor(
    'the Redis breaker to close',
    async () => {
      await get(`${proxy.url}/api/items/probe-${probe++}`);
      return proxy.storage.redis!.breakerState === 'closed';
    },
    COOLDOWN_MS + 5_000,
    50,
  );
  const recoveredMs = performance.now() - restartedAt;
  t.ok(recoveredMs < COOLDOWN_MS + 5_000, `breaker closed ${fmt(recoveredMs)} after redis-server was back`);
  const after = (await readyz(proxy.url)).body.tiers['redis'];
  t.comment(`/readyz tiers.redis right after recovery: ${after}`);
  t.not(after, 'down', 'readyz no longer reports redis down');
  // GuardedTier reports "degraded" for 30 s after its last error (DEGRADED_WINDOW_MS), even once
  // the breaker has closed; skip the wait by moving the clock on.
  skew += 31_000;
  t.equal((await readyz(proxy.url)).body.tiers['redis'], 'up', 'up once the degraded window has passed');

  // New entries land in Redis again, and are read from it.
  const fresh = await get(`${proxy.url}/api/items/after-restart`);
  t.equal(fresh.headers['x-cache'], 'MISS');
  // Memory is off, so a Redis hit is the only way this path can be a HIT.
  await waitFor('the new entry to be served from Redis', async () => (await get(`${proxy.url}/api/items/after-restart`)).headers['x-cache-tier'] === 'redis', 5_000, 50);
  t.pass('a new entry was written to Redis and served from it');
});
