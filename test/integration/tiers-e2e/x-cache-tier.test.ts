import { randomBytes } from 'node:crypto';
import t from 'tap';
import { startProxy, type ProxyResponse } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { deleteNamespace, redisOrSkip } from '../../helpers/redis.js';
import { redisClient, redisIndexKey, waitFor } from './helpers.js';

/** Bodies the upstream serves: incompressible (stored raw in Redis), compressible (brotli in Redis), tiny with NULs, empty. */
const BODIES: Record<string, { status: number; body: Buffer }> = {
  random: { status: 203, body: randomBytes(40 * 1024) },
  pattern: { status: 200, body: Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 256)) },
  small: { status: 203, body: Buffer.from([0, 255, 0, 1, 0x0d, 0x0a, 0x0d, 0x0a, 0, 0x80, 0xc3, 0x28]) },
  empty: { status: 200, body: Buffer.alloc(0) },
};
const PATHS = Object.keys(BODIES).map((name) => `/api/bin/${name}`);

/** What a hit legitimately adds or changes: cache bookkeeping and connection-level fields. */
const VOLATILE = new Set(['x-cache', 'x-cache-tier', 'cache-status', 'age', 'x-request-id', 'connection', 'keep-alive']);
const stable = (headers: ProxyResponse['headers']) => Object.fromEntries(Object.entries(headers).filter(([name]) => !VOLATILE.has(name)));

t.test('x-cache-tier names the answering tier, and every tier replays the original response exactly', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const inspect = redisClient(t, redis.url);
  const upstream = await startFakeUpstream((req, res) => {
    const name = req.url!.split('/').pop()!;
    const found = BODIES[name];
    if (found === undefined) {
      res.end('uncached');
      return;
    }
    // Repeated fields in order, a comma inside one value, and an ETag.
    res.writeHead(found.status, [
      ['content-type', 'application/octet-stream'],
      ['x-dup', 'first'],
      ['x-dup', 'second, with comma'],
      ['x-dup', 'third'],
      ['etag', `"${name}"`],
      ['cache-control', 'no-cache'],
    ].flat());
    res.end(found.body);
  });
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/bin/:name', ttlMs: 600_000 }] }], {
    cache: {
      keySecret: 'x-cache-tier-secret',
      namespace: redis.namespace,
      redis: { url: redis.url, readTimeoutMs: 2_000, compressAboveBytes: 8192, writeQueueSize: 1000 },
      postgres: { enabled: true, readTimeoutMs: 2_000, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
    },
    database: { url: db.url },
  });

  const a = await startProxy(t, config);
  const originals = new Map<string, ProxyResponse>();
  for (const path of PATHS) {
    const got = await a.fetch(path);
    t.equal(got.headers['x-cache'], 'MISS', `${path}: MISS`);
    t.equal(got.headers['x-cache-tier'], undefined, `${path}: no x-cache-tier on a MISS`);
    const expected = BODIES[path.split('/').pop()!]!;
    t.equal(got.status, expected.status, `${path}: upstream status ${expected.status}`);
    t.ok(got.body.equals(expected.body), `${path}: upstream body`);
    t.same(got.headers['x-dup'], ['first', 'second, with comma', 'third'], `${path}: repeated x-dup in order`);
    originals.set(path, got);
  }
  const bypass = await a.fetch('/api/other');
  t.equal(bypass.headers['x-cache'], 'BYPASS');
  t.equal(bypass.headers['x-cache-tier'], undefined, 'no x-cache-tier on a BYPASS');
  await waitFor('every entry in Redis', async () => (await inspect.zcard(redisIndexKey(redis.namespace))) === PATHS.length);
  await waitFor('every entry in Postgres', async () => (await db.query('SELECT 1 FROM api_cache')).rowCount === PATHS.length);

  const same = (got: ProxyResponse, path: string, tier: string) => {
    const original = originals.get(path)!;
    t.equal(got.headers['x-cache'], 'HIT', `${path} via ${tier}: HIT`);
    t.equal(got.headers['x-cache-tier'], tier, `${path}: x-cache-tier is exactly "${tier}"`);
    t.equal(got.status, original.status, `${path} via ${tier}: same status`);
    t.ok(got.body.equals(original.body), `${path} via ${tier}: same body bytes (${got.body.length} of ${original.body.length})`);
    t.same(stable(got.headers), stable(original.headers), `${path} via ${tier}: same headers`);
  };

  for (const path of PATHS) same(await a.fetch(path), path, 'memory');
  const b = await startProxy(t, config);
  for (const path of PATHS) same(await b.fetch(path), path, 'redis');
  await deleteNamespace(redis.url, redis.namespace);
  const c = await startProxy(t, config);
  for (const path of PATHS) same(await c.fetch(path), path, 'postgres');
  // And the copies promoted from Postgres.
  for (const path of PATHS) same(await c.fetch(path), path, 'memory');
  await waitFor('the promoted entries in Redis', async () => (await inspect.zcard(redisIndexKey(redis.namespace))) === PATHS.length);
  const d = await startProxy(t, config);
  for (const path of PATHS) same(await d.fetch(path), path, 'redis');
  t.equal(upstream.received.filter((r) => r.url.startsWith('/bin/')).length, PATHS.length, 'the upstream saw each path once');
});
