import t, { type Test } from 'tap';
import type { Config } from '../../../src/config/types.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip, type TestDatabase } from '../../helpers/database.js';
import { closedPort, fmt, httpClient, latencySummary, readyz, runLoad, TcpRelay, versionedUpstream, waitFor } from './helpers.js';

const READ_TIMEOUT_MS = 300;
const COOLDOWN_MS = 500;
const UPSTREAM_DELAY_MS = 20;
/** Scheduling slack on a loaded 2-core machine (client, proxy and upstream share one event loop). */
const MARGIN_MS = 250;
/** open-stack / db lifecycle: migrations are retried this often while the database is down. */
const MIGRATION_RETRY_MS = 5_000;

/** An isolated schema reached through a relay the test can cut; the relay is not listening yet. */
async function relayedDatabase(t: Test): Promise<{ db: TestDatabase; relay: TcpRelay; url: string } | null> {
  const pg = await postgresOrSkip(t);
  if (pg === null) return null;
  const db = await pg.open(t);
  const direct = new URL(db.url!);
  const relay = new TcpRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
  relay.port = await closedPort();
  t.teardown(() => relay.cut());
  const url = new URL(db.url!);
  url.hostname = '127.0.0.1';
  url.port = String(relay.port);
  return { db, relay, url: url.toString() };
}

function config(upstream: string, databaseUrl: string, options: { memory: boolean }): Config {
  return testConfig([{ target: upstream, rules: [{ path: '/items/:id', ttlMs: 600_000 }] }], {
    cache: {
      keySecret: 'postgres-failure-secret',
      namespace: 'unused',
      memory: { enabled: options.memory, maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 },
      redis: { url: null, readTimeoutMs: 50, compressAboveBytes: 8192, writeQueueSize: 1000 },
      postgres: { enabled: true, readTimeoutMs: READ_TIMEOUT_MS, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
      breaker: { failureThreshold: 5, cooldownMs: COOLDOWN_MS },
    },
    database: { url: databaseUrl, connectTimeoutMs: 300, poolSize: 4 },
  });
}

const rows = async (db: TestDatabase) => Number((await db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM api_cache')).rows[0]!.n);

t.test('Postgres unreachable at start-up: starts, serves, reports down; comes up when Postgres does', async (t) => {
  const setup = await relayedDatabase(t);
  if (setup === null) return;
  const { db, relay, url } = setup;
  const upstream = await versionedUpstream(t);
  const get = httpClient(t);

  const started = performance.now();
  const proxy = await startProxy(t, config(upstream.url, url, { memory: true }));
  const startMs = performance.now() - started;
  t.ok(startMs < 5_000, `started in ${fmt(startMs)} with Postgres refusing connections`);

  const paths = Array.from({ length: 30 }, (_, i) => `/api/items/${i % 15}`);
  const results = [];
  for (let i = 0; i < paths.length; i += 5) results.push(...(await Promise.all(paths.slice(i, i + 5).map((p) => get(proxy.url + p)))));
  const failed = results.filter((r) => r.status !== 200);
  t.equal(failed.length, 0, `zero failed requests of 30${failed.length ? `: ${failed[0]!.status} ${failed[0]!.text()}` : ''}`);
  t.equal(results.filter((r) => r.headers['x-cache'] === 'MISS').length, 15, '15 misses');
  t.equal(results.filter((r) => r.headers['x-cache-tier'] === 'memory').length, 15, '15 memory hits');
  t.comment(`latencies with Postgres refused: ${latencySummary(results)}`);
  const ready = await readyz(proxy.url);
  t.equal(ready.status, 200, '/readyz stays 200');
  t.comment(`/readyz: ${JSON.stringify(ready.body.tiers)}`);
  t.equal(ready.body.tiers['postgres'], 'down', 'tiers.postgres is down');
  t.equal(ready.body.tiers['memory'], 'up');

  // Postgres becomes reachable: the background migration retry brings the tier up.
  await relay.listen();
  const reachable = performance.now();
  await waitFor('the postgres tier to come up', async () => (await readyz(proxy.url)).body.tiers['postgres'] === 'up', MIGRATION_RETRY_MS + 5_000, 100);
  t.pass(`postgres tier up ${fmt(performance.now() - reachable)} after Postgres became reachable (retry every ${MIGRATION_RETRY_MS / 1000} s)`);
  t.equal((await get(`${proxy.url}/api/items/late`)).headers['x-cache'], 'MISS');
  await waitFor('the new entry in Postgres', async () => (await rows(db)) >= 1);
  t.pass('writes land once the tier is up');
});

t.test('Postgres cut mid-load: no failed request, no hang; the tier recovers when restored', async (t) => {
  const setup = await relayedDatabase(t);
  if (setup === null) return;
  const { db, relay, url } = setup;
  await relay.listen();
  const upstream = await versionedUpstream(t, UPSTREAM_DELAY_MS);
  let skew = 0;
  const now = () => Date.now() + skew;
  // Memory and Redis off: every request reads Postgres, so the whole load exercises its failure path.
  const proxy = await startProxy(t, config(upstream.url, url, { memory: false }), { now });
  const get = httpClient(t);
  await waitFor('the postgres tier to be up', async () => (await readyz(proxy.url)).body.tiers['postgres'] === 'up', 10_000, 50);

  const paths = Array.from({ length: 20 }, (_, i) => `/api/items/${i}`);
  for (const path of paths) t.equal((await get(proxy.url + path)).headers['x-cache'], 'MISS');
  await waitFor('20 rows in Postgres', async () => (await rows(db)) === 20);
  const warm = await Promise.all(paths.map((path) => get(proxy.url + path)));
  t.ok(warm.every((r) => r.headers['x-cache-tier'] === 'postgres'), 'warm: every path is a Postgres hit');

  const seen = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      seen.add((await readyz(proxy.url)).body.tiers['postgres']!);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const load = runLoad({ base: proxy.url, paths, loops: 10, perLoop: 30, durationMs: 3_000, get });
  const loadStarted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await relay.cut();
  const cutAt = performance.now() - loadStarted;
  const { samples } = await load;
  watching = false;
  await watcher;

  t.equal(samples.length, 300);
  const failed = samples.filter((s) => s.status !== 200);
  t.equal(failed.length, 0, `zero failed requests of 300${failed.length ? `: ${JSON.stringify(failed.slice(0, 3))}` : ''}`);
  const before = samples.filter((s) => s.startedAt + s.ms < 1_000);
  const dead = samples.filter((s) => s.startedAt >= cutAt);
  t.ok(before.length > 50 && dead.length > 100, `${before.length} requests before the cut, ${dead.length} after it`);
  t.comment(`Postgres cut at ${fmt(cutAt)} into the load`);
  t.comment(`before the cut: ${latencySummary(before)}`);
  t.comment(`Postgres cut:   ${latencySummary(dead)}; outcomes: ${[...new Set(dead.map((s) => `${s.cache}/${s.tier ?? '-'}`))].join(' ')}`);
  const bound = UPSTREAM_DELAY_MS + READ_TIMEOUT_MS + MARGIN_MS;
  const slow = dead.filter((s) => s.ms >= bound);
  t.equal(slow.length, 0, `every request after the cut took < ${bound} ms (upstream ${UPSTREAM_DELAY_MS} + readTimeout ${READ_TIMEOUT_MS} + margin ${MARGIN_MS})${slow.length ? `; slow: ${slow.map((s) => fmt(s.ms)).join(', ')}` : ''}`);
  t.ok(seen.has('down'), `/readyz showed postgres "down" while cut (seen: ${[...seen].join(', ')})`);

  const restoredAt = performance.now();
  await relay.listen();
  let probe = 0;
  await waitFor(
    'the Postgres breaker to close',
    async () => {
      await get(`${proxy.url}/api/items/probe-${probe++}`);
      return proxy.storage.postgres!.breakerState === 'closed';
    },
    COOLDOWN_MS + 5_000,
    50,
  );
  t.pass(`breaker closed ${fmt(performance.now() - restoredAt)} after Postgres was reachable again`);
  const after = (await readyz(proxy.url)).body.tiers['postgres'];
  t.comment(`/readyz tiers.postgres right after recovery: ${after}`);
  t.not(after, 'down', 'readyz no longer reports postgres down');
  // "degraded" for 30 s after the last error (GuardedTier DEGRADED_WINDOW_MS): move the clock on.
  skew += 31_000;
  t.equal((await readyz(proxy.url)).body.tiers['postgres'], 'up', 'up once the degraded window has passed');

  const fresh = await get(`${proxy.url}/api/items/after-restore`);
  t.equal(fresh.headers['x-cache'], 'MISS');
  await waitFor('the new entry to be served from Postgres', async () => (await get(`${proxy.url}/api/items/after-restore`)).headers['x-cache-tier'] === 'postgres', 5_000, 50);
  t.pass('a new entry was written to Postgres and served from it');
});
