import t from 'tap';
import { decodeEntry } from '../../../src/cache/codec.js';
import type { Config } from '../../../src/config/types.js';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { deleteNamespace, redisOrSkip } from '../../helpers/redis.js';
import { redisClient, redisEntryKey, versionedUpstream, waitFor } from './helpers.js';

const TTL_MS = 60_000;
const PATH = '/api/items/1';

t.test('read path: memory -> redis -> postgres, with promotion that keeps the remaining TTL', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const upstream = await versionedUpstream(t);
  const inspect = redisClient(t, redis.url);

  // One manual clock for every instance: entries, freshness, Redis PX and the breakers all read it.
  // It starts at the real time so that Redis PTTLs (which Redis counts down in real time) compare.
  const clock = fakeClock(Date.now());
  const t0 = clock.now();
  const config: Config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', ttlMs: TTL_MS, staleIfErrorMs: 0, keepExpiredMs: 0 }] }], {
    cache: {
      keySecret: 'read-path-secret',
      namespace: redis.namespace,
      // Generous timeouts: this file tests the read path, not the failure policy (a 50 ms read on a
      // loaded CI machine would occasionally count as a miss).
      redis: { url: redis.url, readTimeoutMs: 2_000, compressAboveBytes: 8192, writeQueueSize: 1000 },
      postgres: { enabled: true, readTimeoutMs: 2_000, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
    },
    database: { url: db.url },
  });

  // A: MISS, stored in every tier in the background.
  const a = await startProxy(t, config, { now: clock.now });
  const miss = await a.fetch(PATH);
  t.equal(miss.status, 200);
  t.equal(miss.headers['x-cache'], 'MISS');
  t.equal(miss.headers['x-cache-tier'], undefined, 'a miss names no tier');
  t.same(miss.json(), { path: '/items/1', version: 1 });
  const [key] = [...a.stack.memory!.keys()];
  t.ok(key, 'A holds the entry in memory');
  const entryKey = redisEntryKey(redis.namespace, key!);
  await waitFor('A to write the entry to Redis', async () => (await inspect.exists(entryKey)) === 1);
  await waitFor('A to write the entry to Postgres', async () => (await db.query('SELECT 1 FROM api_cache WHERE cache_key = $1', [key])).rowCount === 1);
  const row = (await db.query<{ expires_ms: number }>('SELECT (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms FROM api_cache WHERE cache_key = $1', [key])).rows[0]!;
  t.equal(Number(row.expires_ms), t0 + TTL_MS, 'Postgres row expires at t0 + ttl');

  // B: a fresh instance (empty memory) answers from Redis.
  const b = await startProxy(t, config, { now: clock.now });
  const fromRedis = await b.fetch(PATH);
  t.equal(fromRedis.status, 200);
  t.equal(fromRedis.headers['x-cache'], 'HIT');
  t.equal(fromRedis.headers['x-cache-tier'], 'redis');
  t.equal(fromRedis.headers['cache-status'], `sidecache; hit; ttl=${TTL_MS / 1000}`);
  t.same(fromRedis.json(), { path: '/items/1', version: 1 }, 'same body as the original');
  const again = await b.fetch(PATH);
  t.equal(again.headers['x-cache-tier'], 'memory', 'B promoted the Redis hit into memory');
  t.equal(upstream.calls('/items/1'), 1, 'the upstream was called once so far');

  // Redis flushed; 20 s later a fresh instance C answers from Postgres.
  t.ok((await deleteNamespace(redis.url, redis.namespace)) >= 1, 'namespace flushed');
  t.equal(await inspect.exists(entryKey), 0);
  clock.advance(20_000);
  const c = await startProxy(t, config, { now: clock.now });
  const fromPostgres = await c.fetch(PATH);
  t.equal(fromPostgres.status, 200);
  t.equal(fromPostgres.headers['x-cache'], 'HIT');
  t.equal(fromPostgres.headers['x-cache-tier'], 'postgres');
  t.equal(fromPostgres.headers['cache-status'], 'sidecache; hit; ttl=40', 'remaining TTL, not a fresh 60 s');
  t.equal(fromPostgres.headers['age'], '20');
  t.same(fromPostgres.json(), { path: '/items/1', version: 1 });

  const fromMemory = await c.fetch(PATH);
  t.equal(fromMemory.headers['x-cache-tier'], 'memory', 'then C answers from memory (promoted)');
  t.equal(fromMemory.headers['cache-status'], 'sidecache; hit; ttl=40');
  t.equal(upstream.calls('/items/1'), 1, 'still one upstream call');

  // Promotion keeps the entry's absolute expiry in memory and in Redis.
  const inMemory = c.stack.memory!.peek(key!);
  t.equal(inMemory?.storedAt, t0, 'memory copy keeps storedAt');
  t.equal(inMemory?.expiresAt, t0 + TTL_MS, 'memory copy keeps the original expiresAt');
  const raw = await waitFor('C to promote the entry back into Redis', () => inspect.getBuffer(entryKey).then((v) => v ?? undefined));
  const promoted = await decodeEntry(raw);
  t.equal(promoted?.expiresAt, t0 + TTL_MS, 'Redis copy keeps the original expiresAt');
  t.equal(promoted?.staleUntil, t0 + TTL_MS, 'and staleUntil');
  t.equal(promoted?.body.toString(), JSON.stringify({ path: '/items/1', version: 1 }));
  // Redis set PX = staleUntil - now (manual clock: exactly 40 000 ms when written); Redis has
  // counted down in real time since, by at most the few hundred ms this test took since.
  const pttl = await inspect.pttl(entryKey);
  t.ok(pttl > 40_000 - 5_000 && pttl <= 40_000, `Redis PTTL ${pttl} ms reflects staleUntil - now = 40 000 ms (not a fresh 60 s)`);
});
