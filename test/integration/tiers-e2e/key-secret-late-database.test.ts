import t from 'tap';
import type { Config } from '../../../src/config/types.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { closedPort, readyz, TcpRelay, versionedUpstream, waitFor } from './helpers.js';

/*
 * `cache.keySecret` unset: the secret is the one persisted in the database (sidecache_meta), so
 * that instances sharing the database share authorization-scoped entries (open-stack.ts). An
 * instance that starts while Postgres is briefly unreachable cannot read it at start-up; once
 * the database is up it should still end up with the persisted secret.
 */
const AUTH = { authorization: 'Bearer late-database-token' };
const PATH = '/api/items/1';

t.test('an instance started while Postgres was down shares entries once it is up', async (t) => {
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const direct = new URL(db.url!);
  const relay = new TcpRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
  relay.port = await closedPort();
  t.teardown(() => relay.cut());
  const viaRelay = new URL(db.url!);
  viaRelay.hostname = '127.0.0.1';
  viaRelay.port = String(relay.port);
  const upstream = await versionedUpstream(t);

  const config = (url: string): Config =>
    testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', ttlMs: 600_000 }] }], {
      cache: {
        keySecret: null,
        namespace: 'unused',
        redis: { url: null, readTimeoutMs: 50, compressAboveBytes: 8192, writeQueueSize: 1000 },
        postgres: { enabled: true, readTimeoutMs: 1_000, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
      },
      database: { url, connectTimeoutMs: 300 },
    });

  // X starts with Postgres unreachable, then Postgres comes up and X's tier with it.
  const x = await startProxy(t, config(viaRelay.toString()));
  t.equal((await readyz(x.url)).body.tiers['postgres'], 'down', 'X: postgres down at start-up');
  await relay.listen();
  await waitFor('X: postgres tier up', async () => (await readyz(x.url)).body.tiers['postgres'] === 'up', 12_000, 100);

  // Y starts with Postgres up: it creates (or reads) the persisted secret.
  const y = await startProxy(t, config(db.url!));
  const persisted = (await db.query<{ value: string }>(`SELECT value FROM sidecache_meta WHERE name = 'key_secret'`)).rows[0]?.value;
  t.ok(persisted, 'a key secret is persisted');
  t.equal(y.keySecret.current(), persisted, 'Y uses the persisted secret');

  const miss = await x.fetch(PATH, { headers: AUTH });
  t.equal(miss.headers['x-cache'], 'MISS');
  await waitFor('X to store the entry in Postgres', async () => (await db.query('SELECT 1 FROM api_cache')).rowCount === 1);
  const fromY = await y.fetch(PATH, { headers: AUTH });
  t.comment(`X keySecret is the persisted one: ${x.keySecret.current() === persisted}; Y answered ${fromY.headers['x-cache']} ${fromY.headers['x-cache-tier'] ?? ''}`);
  t.equal(x.keySecret.current(), persisted, 'X uses the persisted secret once the database is up');
  t.equal(fromY.headers['x-cache'], 'HIT', "Y hits X's entry (same credential, same key)");
  t.equal(fromY.headers['x-cache-tier'], 'postgres');
  t.equal(upstream.calls('/items/1'), 1, 'one upstream call for both instances');
});
