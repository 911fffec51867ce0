import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { readyz, redisClient, redisIndexKey, waitFor } from './helpers.js';

/*
 * Shipped defaults: Redis readTimeout 50 ms, breaker threshold 5, rule maxBodyBytes 1 MB.
 * A burst of misses for large (but storable) JSON responses: each Redis write brotli-encodes
 * ~0.9 MB and SETs it. The writes succeed, so Redis must stay "up" and keep serving reads.
 */
const BURST = 8;
// ~870 KB of JSON: below the default 1 MB maxBodyBytes, above compressAbove (8 KB).
const BODY = JSON.stringify(Array.from({ length: 8_100 }, (_, i) => ({ id: i, name: `record ${i}`, note: `lorem ipsum dolor sit amet ${i} `.repeat(2) })));

t.test('a burst of large storable responses does not make a healthy Redis "down"', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const inspect = redisClient(t, redis.url);
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(BODY);
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', ttlMs: 600_000 }] }], {
      cache: {
        keySecret: 'large-writes-secret',
        namespace: redis.namespace,
        memory: { enabled: true, maxBytes: 256 * 1024 * 1024, maxEntries: 10_000 },
        redis: { url: redis.url, readTimeoutMs: 50, compressAboveBytes: 8192, writeQueueSize: 10_000 },
        postgres: { enabled: false, readTimeoutMs: 250, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
        breaker: { failureThreshold: 5, cooldownMs: 5_000 },
      },
    }),
  );
  t.ok(BODY.length < 1024 * 1024, `body ${BODY.length} bytes, below the default maxBodyBytes`);

  const misses = await Promise.all(Array.from({ length: BURST }, (_, i) => proxy.fetch(`/api/items/${i}`)));
  t.ok(misses.every((r) => r.status === 200 && r.headers['cache-status']?.toString().endsWith('stored')), `${BURST} misses, each stored`);
  await waitFor('the write queue to drain', () => proxy.storage.redis!.queueStats().depth === 0, 10_000, 20);
  // A write the tier gave up on may still land a little later; a skipped one never does.
  const count = () => inspect.zcard(redisIndexKey(redis.namespace));
  const landed = await waitFor(`${BURST} entries in Redis`, async () => (await count()) === BURST && BURST, 3_000, 50).catch(count);
  const { counters } = proxy.storage.redis!;
  const tiers = (await readyz(proxy.url)).body.tiers;
  t.comment(`entries in Redis: ${landed}/${BURST}; redis counters: ${JSON.stringify(counters)}; breaker: ${proxy.storage.redis!.breakerState}; readyz: ${JSON.stringify(tiers)}`);

  t.equal(landed, BURST, 'every entry was written to Redis (none skipped by an open breaker)');
  // Reads (50 ms budget) may still time out on a loaded machine while large entries are encoded;
  // what matters is that no write is lost to the breaker.
  t.ok(counters.timeouts < BURST / 2, 'large writes are not counted as timeouts');
  t.equal(proxy.storage.redis!.breakerState, 'closed', 'the breaker stays closed');
  t.not(tiers['redis'], 'down', '/readyz does not report a healthy Redis down');
});
