import t, { type Test } from 'tap';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';

const BODY = 'abcdefghijklmnopqrstuvwxyz';
const MEMORY_OFF = { enabled: false, maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 };

async function lettersUpstream(t: Test) {
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.setHeader('etag', '"alphabet"');
    res.end(BODY);
  });
  t.teardown(() => upstream.close());
  return upstream;
}

/** Reads until the shared tier answers (its write lands off the response path). */
async function untilTier(proxy: RunningProxy, tier: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const got = await proxy.fetch('/api/letters');
    if (got.headers['x-cache-tier'] === tier) return;
    if (Date.now() > deadline) throw new Error(`no ${tier} hit within 5 s (last: ${String(got.headers['x-cache-tier'])})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The same checks as range.test.ts makes of memory hits, on a hit from `tier`. */
async function rangesFrom(t: Test, proxy: RunningProxy, tier: string, upstreamCalls: () => number): Promise<void> {
  const first = await proxy.fetch('/api/letters', { headers: { range: 'bytes=0-4' } });
  t.equal(first.status, 206, 'a miss is answered with the part');
  t.equal(first.body.toString(), 'abcde');
  t.equal(first.headers['x-cache'], 'MISS');
  await untilTier(proxy, tier);
  // Reads before the shared tier's write landed were misses too: count from here.
  const callsWhenStored = upstreamCalls();

  const suffix = await proxy.fetch('/api/letters', { headers: { range: 'bytes=-3' } });
  t.equal(suffix.headers['x-cache-tier'], tier);
  t.equal(suffix.status, 206);
  t.equal(suffix.headers['content-range'], `bytes 23-25/${BODY.length}`);
  t.equal(suffix.headers['content-length'], '3');
  t.equal(suffix.body.toString(), 'xyz');

  const outside = await proxy.fetch('/api/letters', { headers: { range: 'bytes=100-' } });
  t.equal(outside.headers['x-cache-tier'], tier);
  t.equal(outside.status, 416);
  t.equal(outside.headers['content-range'], `bytes */${BODY.length}`);

  const matching = await proxy.fetch('/api/letters', { headers: { range: 'bytes=5-9', 'if-range': '"alphabet"' } });
  t.equal(matching.status, 206, 'If-Range matches the stored ETag');
  t.equal(matching.body.toString(), 'fghij');
  const changed = await proxy.fetch('/api/letters', { headers: { range: 'bytes=0-4', 'if-range': '"older"' } });
  t.equal(changed.status, 200, 'If-Range does not match: the whole response');
  t.equal(changed.body.toString(), BODY);
  t.equal(upstreamCalls(), callsWhenStored, 'every answer once it was stored came from the shared tier');
}

t.test('ranges are cut from a complete response stored in Redis (memory tier off)', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const upstream = await lettersUpstream(t);
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/*', ttlMs: 60_000, scope: 'shared' }] }], {
      cache: { namespace: redis.namespace, memory: MEMORY_OFF, redis: { url: redis.url, readTimeoutMs: 2_000, compressAboveBytes: 8192, writeQueueSize: 1000 } },
    }),
  );
  await rangesFrom(t, proxy, 'redis', () => upstream.received.length);
});

t.test('ranges are cut from a complete response stored in Postgres (memory and Redis off)', async (t) => {
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const upstream = await lettersUpstream(t);
  const base = testConfig([{ target: upstream.url, rules: [{ path: '/*', ttlMs: 60_000, scope: 'shared' }] }], { database: { url: db.url! } });
  const proxy = await startProxy(t, { ...base, cache: { ...base.cache, memory: MEMORY_OFF, postgres: { ...base.cache.postgres, enabled: true, readTimeoutMs: 2_000 } } });
  await rangesFrom(t, proxy, 'postgres', () => upstream.received.length);
});
