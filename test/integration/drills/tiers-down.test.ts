import t, { type Test } from 'tap';
import pg from 'pg';
import { DATABASE_URL_TEST, postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { postgresServerProblem, startPostgresServer } from '../../helpers/postgres-server.js';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';
import { redisServerOrSkip } from '../../helpers/redis.js';
import { TcpRelay } from '../tiers-e2e/helpers.js';
import { client, header, loadUntil, readyz, sleep, summary, tally, waitFor, type Answer } from '../../helpers/drill.js';

/**
 * Drill 4: Redis, then Postgres, stopped mid-load, then both restarted. A private redis-server and
 * a private PostgreSQL (own data directory, own free port; both stopped and started by PID) back
 * one sidecache process: Redis is its L2, Postgres its L3, its audit trail and its sessions. The
 * memory tier is off, so every request reads Redis and then Postgres: the whole load goes
 * through the failure paths. Six clients send requests without pause over a working set of 30
 * URLs; not one request may fail, and none may wait much past the tiers' read timeouts.
 *
 * When a private PostgreSQL cannot be started here (no initdb), the shared test server is used
 * through a TCP relay that the drill cuts and restores instead (the issue allows either).
 */

const PATHS = Array.from({ length: 30 }, (_, i) => `/api/items/${i}`);
const PHASE_MS = 1_500;
const REDIS_READ_TIMEOUT_MS = 100;
const POSTGRES_READ_TIMEOUT_MS = 250;
/** Redis + Postgres read timeouts, the upstream (10 ms) and scheduling slack on a shared machine. */
const REQUEST_BOUND_MS = REDIS_READ_TIMEOUT_MS + POSTGRES_READ_TIMEOUT_MS + 2_000;

/** A Postgres the drill can take away and bring back, and count audit rows in. */
interface StoppableDatabase {
  readonly kind: string;
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  auditRows(): Promise<number>;
}

async function privatePostgres(t: Test): Promise<StoppableDatabase | null> {
  const problem = postgresServerProblem();
  if (problem === null) {
    const server = await startPostgresServer(t);
    const count = async () => {
      const pool = new pg.Client({ connectionString: server.url });
      await pool.connect();
      try {
        return Number((await pool.query<{ n: string }>('SELECT count(*)::int8 AS n FROM audit_logs')).rows[0]!.n);
      } finally {
        await pool.end();
      }
    };
    return { kind: `private PostgreSQL (pid ${server.pid}, port ${server.port})`, url: server.url, stop: () => server.stop('fast'), start: () => server.start(), auditRows: count };
  }
  t.comment(`no private PostgreSQL (${problem}): the shared test server behind a TCP relay instead`);
  const target = await postgresOrSkip(t);
  if (target === null) return null;
  const db = await target.open(t, { migrate: false });
  const shared = new URL(DATABASE_URL_TEST);
  const relay = new TcpRelay({ host: shared.hostname, port: Number(shared.port || 5432) });
  await relay.listen();
  t.teardown(() => relay.cut());
  const url = new URL(db.url!);
  url.port = String(relay.port);
  return {
    kind: `shared PostgreSQL through a TCP relay (port ${relay.port}), schema ${db.schema}`,
    url: url.toString(),
    stop: () => relay.cut(),
    start: () => relay.listen(),
    auditRows: async () => Number((await db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM audit_logs')).rows[0]!.n),
  };
}

interface Sample extends Answer {
  readonly phase: string;
  readonly path: string;
}

t.test('drill 4: Redis stopped, then Postgres stopped, mid-load; then both back: zero failed requests', async (t) => {
  const started = performance.now();
  const redis = await redisServerOrSkip(t);
  if (redis === null) return;
  const database = await privatePostgres(t);
  if (database === null) return;
  t.comment(`database: ${database.kind}; redis-server pid ${redis.pid}, port ${redis.port}`);
  const upstream = await startFakeUpstream(async (req, res) => {
    await sleep(10);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  t.teardown(() => upstream.close());
  const spool = t.testdir({});
  const proc = await startSidecacheProcess(
    t,
    writeConfig(
      t,
      `
server: { host: 127.0.0.1, port: 0 }
cache:
  keySecret: drill-4
  namespace: drill4
  memory: { enabled: false }
  redis: { url: "${redis.url}", readTimeout: ${REDIS_READ_TIMEOUT_MS}ms }
  postgres: { enabled: true, readTimeout: ${POSTGRES_READ_TIMEOUT_MS}ms }
  breaker: { failureThreshold: 5, cooldown: 1s }
database: { url: "${database.url}", poolSize: 4, connectTimeout: 1s, statementTimeout: 2s }
audit: { enabled: true, flushInterval: 100ms, spoolDir: "${spool}" }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    rules:
      - { path: /items/:id, scope: shared, ttl: 10m }
`,
    ),
  );
  t.comment(`sidecache up in ${(performance.now() - started).toFixed(0)} ms`);
  const http = client(t);
  const tiers = async () => (await readyz(proc.url)).body;
  await waitFor('Postgres tier up (migrations applied)', async () => (await tiers()).tiers['postgres'] === 'up', 15_000);

  // Warm-up: every URL fetched once, then in Redis and Postgres.
  const warm = await Promise.all(PATHS.map((p) => http.get(proc.url + p)));
  t.ok(warm.every((a) => a.status === 200 && header(a, 'x-cache') === 'MISS'), 'warm-up: every URL fetched');
  await waitFor('every URL served from Redis', async () => {
    const again = await Promise.all(PATHS.map((p) => http.get(proc.url + p)));
    warm.push(...again);
    return again.every((a) => header(a, 'x-cache-tier') === 'redis');
  }, 10_000, 100);

  let phase = 'all up';
  let stopped = false;
  const load = loadUntil<Sample>({
    workers: 6,
    pauseMs: 5,
    maxPerWorker: 3_000,
    maxMs: 8 * PHASE_MS,
    stop: () => stopped,
    send: async (n) => {
      const current = phase;
      const path = PATHS[n % PATHS.length]!;
      return { ...(await http.get(proc.url + path)), phase: current, path };
    },
  });
  const seen: string[] = [];
  const switchTo = async (next: string, action: () => Promise<void>) => {
    await sleep(PHASE_MS);
    seen.push(`${phase}: ${JSON.stringify((await tiers()).tiers)}`);
    await action();
    phase = next;
  };
  await switchTo('redis stopped', () => redis.stop());
  await switchTo('redis and postgres stopped', () => database.stop());
  await switchTo('both restarted', async () => {
    await redis.start();
    await database.start();
  });
  await sleep(PHASE_MS);
  seen.push(`${phase}: ${JSON.stringify((await tiers()).tiers)}`);
  stopped = true;
  const samples = await load;

  for (const line of seen) t.comment(`/readyz tiers at the end of "${line}`);
  const failed = samples.filter((s) => s.status !== 200);
  if (failed.length > 0) for (const line of proc.output.filter((l) => /"level":(40|50)/.test(l)).slice(0, 30)) t.comment(line.slice(0, 300));
  t.equal(failed.length, 0, `zero failed requests of ${samples.length}${failed.length ? `: ${tally(failed, (s) => `${s.phase}/${s.status}/${s.error ?? s.body.slice(0, 80)}`)}` : ''}`);
  for (const name of ['all up', 'redis stopped', 'redis and postgres stopped', 'both restarted']) {
    const inPhase = samples.filter((s) => s.phase === name);
    t.ok(inPhase.length >= 30, `${name}: ${inPhase.length} requests; ${tally(inPhase, (s) => `${header(s, 'x-cache')}/${header(s, 'x-cache-tier') ?? '-'}`)}; ${summary(inPhase)}`);
  }
  const slow = samples.filter((s) => s.ms >= REQUEST_BOUND_MS);
  t.equal(slow.length, 0, `every request took < ${REQUEST_BOUND_MS} ms (Redis ${REDIS_READ_TIMEOUT_MS} + Postgres ${POSTGRES_READ_TIMEOUT_MS} read timeouts + slack)`);
  const both = samples.filter((s) => s.phase === 'redis and postgres stopped');
  t.ok(both.some((s) => header(s, 'x-cache') === 'MISS'), 'with both tiers away, requests went to the upstream');
  t.ok(samples.filter((s) => s.phase === 'redis stopped').some((s) => header(s, 'x-cache-tier') === 'postgres'), 'with Redis away, hits came from Postgres');

  // Both tiers come back by themselves: the breakers half-open, probe, and close.
  let probes = 0;
  const back = await waitFor(
    'Redis and Postgres tiers back',
    async () => {
      probes += 1;
      await http.get(`${proc.url}${PATHS[0]}`);
      const now = (await tiers()).tiers;
      return now['redis'] !== 'down' && now['postgres'] !== 'down' ? now : undefined;
    },
    15_000,
    200,
  );
  t.pass(`both tiers reachable again: ${JSON.stringify(back)}`);

  // Every answered request left one audit row: written, or spooled while Postgres was away and replayed.
  const answered = warm.length + samples.length + probes;
  await waitFor('the audit rows of every answered request', async () => (await database.auditRows().catch(() => -1)) >= answered, 20_000, 250).catch(() => undefined);
  await sleep(300);
  t.equal(await database.auditRows(), answered, `one audit row per answered request (${answered}), the outage's spooled and replayed once`);
  t.comment(`audit: ${(await tiers()).audit}; drill 4 took ${(performance.now() - started).toFixed(0)} ms`);
});
