import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Redis } from 'ioredis';
import { SEALED_ROW_FORMAT } from '../../../src/cache/tiers/postgres-sealed.js';
import { parseEncryptionKeys } from '../../../src/config/encryption-keys.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { postgresOrSkip, type TestDatabase } from '../../helpers/database.js';
import { startSidecacheProcess, writeConfig, type SidecacheProcess } from '../../helpers/process.js';
import { deleteNamespace, redisOrSkip } from '../../helpers/redis.js';
import { httpClient, redisClient, waitFor } from './helpers.js';

// Markers in the path, a response header and the body: none may be readable at rest.
const MARKER = 'ZebraCustomerMarker';
const PATH = `/api/accounts/${MARKER}`;
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('hex');
const K3 = randomBytes(32).toString('base64');
const idOf = (key: string) => parseEncryptionKeys(key, null)[0]!.id;

function yaml(upstream: string, namespace: string, redisUrl: string, databaseUrl: string): string {
  return `
server: { host: 127.0.0.1, port: 0, shutdownGrace: 10s }
cache:
  keySecret: encryption-test-secret
  encryption: { key: "\${CACHE_ENCRYPTION_KEY:-}", keys: "\${CACHE_ENCRYPTION_KEYS:-}" }
  namespace: ${namespace}
  redis: { url: ${JSON.stringify(redisUrl)}, readTimeout: 1s }
  postgres: { enabled: true, readTimeout: 2s }
database: { url: ${JSON.stringify(databaseUrl)}, connectTimeout: 2s }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream}
    rules:
      - { path: /accounts/:name, ttl: 10m }
`;
}

/** Every Redis key and value of the namespace, and every api_cache row (all columns as text, and the raw body). */
async function everythingStored(redis: Redis, namespace: string, db: TestDatabase): Promise<Buffer[]> {
  const keys = await redis.keys(`sidecache:${namespace}:*`);
  const stored: Buffer[] = [Buffer.from(keys.join('\n'))];
  for (const key of keys) {
    if ((await redis.type(key)) === 'string') stored.push((await redis.getBuffer(key))!);
    else stored.push(...(await redis.zrange(key, 0, -1)).map((member) => Buffer.from(member)));
  }
  const { rows } = await db.query<{ row: string; body: Buffer }>('SELECT t::text AS row, body FROM api_cache t');
  for (const row of rows) stored.push(Buffer.from(row.row), row.body);
  return stored;
}

/** The key id a sealed value names (seal.ts layout). */
const keyIdOf = (sealed: Buffer) => sealed.toString('ascii', 3, 3 + sealed[2]!);

async function stop(t: Test, proc: SidecacheProcess): Promise<void> {
  proc.child.kill('SIGTERM');
  t.equal(await proc.exited, 0, 'exited 0 after SIGTERM');
}

t.test('entries at rest: sealed with a key, readable without; restart, rotation and a wrong key', async (t) => {
  const redisTarget = await redisOrSkip(t);
  if (redisTarget === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t, { migrate: true });
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-customer', MARKER);
    res.end(JSON.stringify({ Name: MARKER, Email: `${MARKER.toLowerCase()}@example.com`, path: req.url }));
  });
  t.teardown(() => upstream.close());
  const get = httpClient(t);
  const redis = redisClient(t, redisTarget.url);
  const { namespace } = redisTarget;
  const config = writeConfig(t, yaml(upstream.url, namespace, redisTarget.url, db.url!));
  const entryKey = async () => (await redis.keys(`sidecache:${namespace}:v*s:e:*`))[0];
  const reset = async () => {
    await deleteNamespace(redisTarget.url, namespace);
    await db.query('DELETE FROM api_cache');
  };
  const fill = async (proc: SidecacheProcess) => {
    const res = await get(proc.url + PATH);
    t.equal(res.status, 200);
    t.equal(res.headers['x-cache'], 'MISS');
    await waitFor('the Redis write', async () => (await redis.keys(`sidecache:${namespace}:*:e:*`)).length === 1);
    await waitFor('the Postgres write', async () => (await db.query('SELECT 1 FROM api_cache')).rowCount === 1);
  };
  const hasMarker = async () => (await everythingStored(redis, namespace, db)).some((value) => value.includes(MARKER) || value.includes(MARKER.toLowerCase()));

  await t.test('without a key the markers are stored readable (so the scan works)', async (t) => {
    await reset();
    const proc = await startSidecacheProcess(t, config);
    await fill(proc);
    t.ok(await hasMarker(), 'markers found');
    await stop(t, proc);
  });

  await t.test('with a key no marker is stored anywhere; a restart with the same key hits', async (t) => {
    await reset();
    const first = await startSidecacheProcess(t, config, { CACHE_ENCRYPTION_KEY: K1 });
    t.notOk(first.output.join('\n').includes(K1), 'the key is never logged');
    await fill(first);
    t.notOk(await hasMarker(), 'no marker in any Redis key or value or any api_cache row');
    t.equal((await db.query<{ format: number }>('SELECT format FROM api_cache')).rows[0]?.format, SEALED_ROW_FORMAT);
    await stop(t, first);
    const second = await startSidecacheProcess(t, config, { CACHE_ENCRYPTION_KEY: K1 });
    const hit = await get(second.url + PATH);
    t.equal(hit.headers['x-cache'], 'HIT');
    t.equal(hit.headers['x-cache-tier'], 'redis');
    t.equal(hit.headers['x-customer'], MARKER, 'headers come back');
    t.match(hit.text(), MARKER);
    await stop(t, second);
  });

  await t.test('rotation: new current key, old one in the ring: hits, and entries are re-sealed', async (t) => {
    t.equal(keyIdOf((await redis.getBuffer((await entryKey())!))!), idOf(K1));
    const env = { CACHE_ENCRYPTION_KEY: K2, CACHE_ENCRYPTION_KEYS: K1 };
    const first = await startSidecacheProcess(t, config, env);
    const hit = await get(first.url + PATH);
    t.equal(hit.headers['x-cache'], 'HIT');
    t.equal(hit.headers['x-cache-tier'], 'redis');
    t.equal(keyIdOf((await redis.getBuffer((await entryKey())!))!), idOf(K2), 'the Redis value is re-sealed under the new key');
    await stop(t, first);
    // The Postgres row: still under K1 until read; read it through a start with an empty Redis.
    await deleteNamespace(redisTarget.url, namespace);
    const second = await startSidecacheProcess(t, config, env);
    const fromPostgres = await get(second.url + PATH);
    t.equal(fromPostgres.headers['x-cache'], 'HIT');
    t.equal(fromPostgres.headers['x-cache-tier'], 'postgres');
    await waitFor('the Postgres row re-sealed', async () => keyIdOf((await db.query<{ body: Buffer }>('SELECT body FROM api_cache')).rows[0]!.body) === idOf(K2));
    await waitFor('the promotion to Redis', async () => (await entryKey()) !== undefined);
    t.equal(keyIdOf((await redis.getBuffer((await entryKey())!))!), idOf(K2), 'promoted under the new key');
    await stop(t, second);
  });

  await t.test('a wrong key gives misses, logged once, never errors; no key says so at start-up', async (t) => {
    const wrong = await startSidecacheProcess(t, config, { CACHE_ENCRYPTION_KEY: K3 });
    for (let i = 0; i < 2; i++) {
      const res = await get(wrong.url + PATH.replace(MARKER, `${MARKER}${i}`));
      t.equal(res.status, 200);
    }
    await deleteNamespace(redisTarget.url, namespace);
    const res = await get(wrong.url + PATH);
    t.equal(res.status, 200, 'not an error');
    t.equal(res.headers['x-cache'], 'MISS', 'the entry under another key is a miss');
    await waitFor('the log line', () => wrong.output.some((line) => line.includes('did not open')));
    await stop(t, wrong);
    const logged = wrong.output.filter((line) => line.includes('did not open')).map((line) => JSON.parse(line) as { tier: string; reason: string });
    t.same(logged.map((line) => `${line.tier}/${line.reason}`), ['postgres/unknown-key'], 'logged once, naming the tier and reason');
    t.notOk(wrong.output.join('\n').includes(K3), 'the key is never logged');

    const none = await startSidecacheProcess(t, config);
    await waitFor('the start-up warning', () => none.output.some((line) => line.includes('holds entries sealed with an encryption key')), 10_000, 50);
    const plain = await get(none.url + PATH);
    t.equal(plain.headers['x-cache'], 'MISS', 'sealed entries are misses without a key');
    await stop(t, none);
    await reset();
  });
});

t.test('a malformed key stops start-up with a precise error that does not echo it', async (t) => {
  const config = writeConfig(t, `
server: { host: 127.0.0.1, port: 0 }
cache: { encryption: { key: "\${CACHE_ENCRYPTION_KEY:-}" } }
upstreams: [{ name: api, prefix: /api, target: http://127.0.0.1:9, rules: [{ path: /x, ttl: 1m }] }]
`);
  const bad = 'not-a-real-key-but-a-secret-still';
  const proc = await startSidecacheProcess(t, config, { CACHE_ENCRYPTION_KEY: bad }).catch((err: Error) => err);
  const text = proc instanceof Error ? proc.message : proc.output.join('\n');
  t.match(text, /CACHE_ENCRYPTION_KEY .*must be 32 bytes/);
  t.notOk(text.includes(bad), 'the key is not echoed');
});
