import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { openDatabase } from '../../../src/db/sql.js';
import { pgliteTemplate, postgresOrSkip } from '../../helpers/database.js';
import { startSidecacheProcess, writeConfig, type SidecacheProcess } from '../../helpers/process.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { httpClient, readyz, redisClient, redisIndexKey, versionedUpstream, waitFor } from './helpers.js';

const PATH = '/api/items/7';
// Authorization-scoped: the key partition is an HMAC of this credential under the key secret, so a
// hit after the restart proves the secret is the same, not only the entry.
const AUTH = { authorization: 'Bearer restart-test-token' };

function yaml(options: { upstream: string; keySecret?: string; namespace?: string; redisUrl?: string; databaseUrl?: string; dataDir?: string }): string {
  return `
server: { host: 127.0.0.1, port: 0, shutdownGrace: 10s }
cache:
  keySecret: ${JSON.stringify(options.keySecret ?? '')}
  namespace: ${options.namespace ?? 'default'}
  redis: { url: ${JSON.stringify(options.redisUrl ?? '')}, readTimeout: 1s }
  postgres: { enabled: true, readTimeout: 2s }
database:
  url: ${JSON.stringify(options.databaseUrl ?? '')}
  dataDir: \${DATA_DIR:-./data}
  connectTimeout: 2s
upstreams:
  - name: api
    prefix: /api
    target: ${options.upstream}
    rules:
      - { path: /items/:id, ttl: 10m }
`;
}

/**
 * Seeds `<dataDir>/pglite` (where sidecache keeps PGlite's files) with a freshly initialised,
 * empty cluster: the tests' PGlite template, a tar of a data directory. PGlite then opens it
 * instead of running initdb, which takes 5-15 s here (over 20 s on a loaded machine, beyond
 * the process helper's start-up bound). The database is still empty: sidecache migrates it and
 * creates the key secret itself on first start.
 */
async function seedPGlite(dataDir: string): Promise<void> {
  const tar = join(dataDir, 'template.tar');
  writeFileSync(tar, Buffer.from(await (await pgliteTemplate()).arrayBuffer()));
  mkdirSync(join(dataDir, 'pglite'));
  const result = spawnSync('tar', ['-xf', tar, '-C', join(dataDir, 'pglite')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar failed: ${result.stderr || result.error?.message}`);
  rmSync(tar);
}

/** SIGTERM and wait for a clean exit. */
async function stop(t: Test, proc: SidecacheProcess): Promise<void> {
  proc.child.kill('SIGTERM');
  t.equal(await proc.exited, 0, 'exited 0 after SIGTERM');
}

t.test('Redis + Postgres: an entry stored before a restart is a Redis hit after it', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const upstream = await versionedUpstream(t);
  const get = httpClient(t);
  const inspect = redisClient(t, redis.url);
  const config = writeConfig(t, yaml({ upstream: upstream.url, keySecret: 'restart-secret', namespace: redis.namespace, redisUrl: redis.url!, databaseUrl: db.url! }));

  const first = await startSidecacheProcess(t, config);
  const miss = await get(first.url + PATH, AUTH);
  t.equal(miss.status, 200);
  t.equal(miss.headers['x-cache'], 'MISS');
  // The background writes, seen from outside.
  await waitFor('the entry in Redis', async () => (await inspect.zcard(redisIndexKey(redis.namespace))) === 1);
  await waitFor('the entry in Postgres', async () => (await db.query('SELECT 1 FROM api_cache')).rowCount === 1);
  await stop(t, first);

  const second = await startSidecacheProcess(t, config);
  const hit = await get(second.url + PATH, AUTH);
  t.equal(hit.status, 200);
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['x-cache-tier'], 'redis');
  t.equal(hit.text(), miss.text(), 'same body');
  t.equal(upstream.calls('/items/7'), 1, 'one upstream call across the restart');
  await stop(t, second);
});

t.test('embedded PGlite, no key secret configured: the persisted secret and the entry survive a restart', async (t) => {
  const upstream = await versionedUpstream(t);
  const get = httpClient(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'sidecache-restart-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  await seedPGlite(dataDir);
  const config = writeConfig(t, yaml({ upstream: upstream.url }));
  const env = { DATA_DIR: dataDir };

  const first = await startSidecacheProcess(t, config, env);
  // PGlite opens (and migrates) before the listener, unless migrating takes over 3 s.
  await waitFor('the postgres tier to be up', async () => (await readyz(first.url)).body.tiers['postgres'] === 'up', 20_000, 100);
  t.notOk(
    first.output.some((line) => line.includes('random per-process secret')),
    'no "random per-process secret" warning: the secret was created in the database',
  );
  const miss = await get(first.url + PATH, AUTH);
  t.equal(miss.status, 200);
  t.equal(miss.headers['x-cache'], 'MISS');
  // PGlite is a single in-process connection: nothing outside the process can watch the write
  // land. SIGTERM right after the MISS therefore also tests that a graceful stop drains the
  // write queue (GuardedTier.close) before the database closes.
  await stop(t, first);

  const second = await startSidecacheProcess(t, config, env);
  await waitFor('the postgres tier to be up', async () => (await readyz(second.url)).body.tiers['postgres'] === 'up', 20_000, 100);
  const hit = await get(second.url + PATH, AUTH);
  t.equal(hit.status, 200);
  t.equal(hit.headers['x-cache'], 'HIT', 'a hit: same persisted key secret, same entry');
  t.equal(hit.headers['x-cache-tier'], 'postgres');
  t.equal(hit.text(), miss.text(), 'same body');
  t.equal(upstream.calls('/items/7'), 1, 'one upstream call across the restart');
  await stop(t, second);

  // With both processes gone, look inside the embedded database they shared.
  const db = await openDatabase({ url: null, dataDir, poolSize: 1, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000 });
  t.teardown(() => db.close());
  const secrets = await db.query<{ value: string }>(`SELECT value FROM sidecache_meta WHERE name = 'key_secret'`);
  t.equal(secrets.rowCount, 1, 'one key secret persisted in sidecache_meta');
  t.match(secrets.rows[0]?.value, /^[0-9a-f]{64}$/, 'a random 256-bit secret');
  t.equal((await db.query('SELECT 1 FROM api_cache')).rowCount, 1, 'one cache row');
});
