import t, { type Test } from 'tap';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { startSidecacheProcess, writeConfig, type SidecacheProcess } from '../../helpers/process.js';
import { client, header, loadUntil, sleep, summary, tally, waitFor, within, type Answer } from '../../helpers/drill.js';

/**
 * Drill 5: a rolling restart. Two sidecache processes (A and B) write their audit rows into one
 * fresh schema of the shared test Postgres. Eight clients send their requests to A, as a load
 * balancer would, and retry a request on B only when it failed before any response arrived
 * (connection refused or closed). A third of the requests are slow pass-throughs (the in-test
 * upstream waits 300 ms), so some are always in flight. A gets SIGTERM under that load: every
 * request it had started must be answered (drain), it must exit 0, no client request may fail,
 * and the audit table must hold exactly one row per response the clients received.
 */

const SLOW_MS = 300;
const CACHED = Array.from({ length: 20 }, (_, i) => `/api/items/${i}`);

interface Sample extends Answer {
  readonly n: number;
  readonly path: string;
  /** Which instance answered: A, B after a failed attempt on A, or none. */
  readonly via: 'A' | 'B' | 'none';
  readonly firstError?: string;
  readonly endedAt: number;
}

function instanceConfig(t: Test, upstream: string, databaseUrl: string): string {
  return writeConfig(
    t,
    `
server: { host: 127.0.0.1, port: 0, shutdownGrace: 10s }
cache: { keySecret: drill-5 }
database: { url: "${databaseUrl}", poolSize: 4 }
audit: { enabled: true, flushInterval: 100ms, spoolDir: "${t.testdir({})}" }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream}
    rules:
      - { path: /items/:id, scope: shared, ttl: 10m }
`,
  );
}

t.test('drill 5: SIGTERM under load, the second instance takes over: nothing fails, one audit row per answer', async (t) => {
  const started = performance.now();
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { migrate: true });
  // Slow paths the upstream has received, with when it answered (0 while pending).
  const slowSeen = new Map<string, number>();
  const upstream = await startFakeUpstream(async (req, res) => {
    const slow = req.url!.startsWith('/slow/');
    if (slow) slowSeen.set(req.url!, 0);
    if (slow) await sleep(SLOW_MS);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
    if (slow) slowSeen.set(req.url!, performance.now());
  });
  t.teardown(() => upstream.close());
  const [a, b] = (await Promise.all([
    startSidecacheProcess(t, instanceConfig(t, upstream.url, db.url!)),
    startSidecacheProcess(t, instanceConfig(t, upstream.url, db.url!)),
  ])) as [SidecacheProcess, SidecacheProcess];
  t.comment(`two sidecache processes up in ${(performance.now() - started).toFixed(0)} ms (audit schema ${db.schema})`);
  const http = client(t);

  let stop = false;
  const samples: Sample[] = [];
  const load = loadUntil<Sample>({
    samples,
    workers: 8,
    pauseMs: 5,
    maxPerWorker: 2_000,
    maxMs: 20_000,
    stop: () => stop,
    send: async (n) => {
      const path = n % 3 === 0 ? `/api/slow/${n}` : CACHED[n % CACHED.length]!;
      const first = await http.get(a.url + path);
      if (first.status !== 0 || !first.beforeResponse) return { ...first, n, path, via: first.status === 0 ? 'none' : 'A', endedAt: performance.now() };
      // What a load balancer does with a connection that failed before any response: try the other.
      const second = await http.get(b.url + path);
      return { ...second, n, path, via: second.status === 0 ? 'none' : 'B', firstError: first.code ?? first.error, endedAt: performance.now() };
    },
  });

  // Count-based, not time-based: the machine may be slow. Bounded by the load's own 20 s.
  const answeredBy = (via: Sample['via']) => samples.filter((s) => s.via === via).length;
  await waitFor('40 answers from A and a slow request in flight', () => answeredBy('A') >= 40 && [...slowSeen.values()].includes(0), 10_000, 10);
  const sigtermAt = performance.now();
  // Requests A is working on right now: slow ones the upstream has received and not yet answered.
  const inFlight = new Set([...slowSeen].filter(([, answeredAt]) => answeredAt === 0).map(([path]) => `/api${path}`));
  a.child.kill('SIGTERM');
  const exit = await within(a.exited, 15_000, 'still running after 15 s');
  const exitedAt = performance.now();
  const drainMs = exitedAt - sigtermAt;
  await waitFor('20 answers from B after A exited', () => samples.filter((s) => s.endedAt > exitedAt).length >= 20, 10_000, 10).catch(() => undefined);
  stop = true;
  await load;

  t.equal(exit, 0, `A exited 0 after draining, ${drainMs.toFixed(0)} ms after SIGTERM`);
  const failed = samples.filter((s) => s.status === 0);
  t.equal(failed.length, 0, `zero failed client requests of ${samples.length}${failed.length ? `: ${tally(failed, (s) => `${s.via}/${s.beforeResponse ? 'before' : 'after'} response/${s.code ?? s.error}`)}` : ''}`);
  t.ok(samples.every((s) => s.status === 200), `every response 200 (${tally(samples, (s) => s.status)})`);

  const drained = samples.filter((s) => inFlight.has(s.path));
  t.ok(inFlight.size >= 1, `${inFlight.size} slow requests in flight in A at SIGTERM`);
  t.equal(drained.length, inFlight.size, 'each found among the samples');
  t.ok(
    drained.every((s) => s.via === 'A' && s.status === 200),
    `every one answered 200 by A itself (${tally(drained, (s) => `${s.via}/${s.status}`)}; ${summary(drained)})`,
  );

  const before = samples.filter((s) => s.endedAt < sigtermAt);
  const after = samples.filter((s) => s.endedAt > exitedAt);
  t.ok(before.length >= 40 && before.every((s) => s.via === 'A'), `${before.length} requests answered by A before SIGTERM, none retried`);
  t.ok(after.length >= 20 && after.every((s) => s.via === 'B'), `${after.length} requests after A exited, all taken over by B`);
  const duringDrain = samples.filter((s) => s.via === 'A' && s.endedAt > sigtermAt);
  t.ok(duringDrain.length >= inFlight.size, `A answered ${duringDrain.length} requests after SIGTERM, while draining`);
  t.comment(`retried on B after: ${tally(samples.filter((s) => s.firstError !== undefined), (s) => s.firstError)}`);
  t.comment(`answered by: ${tally(samples, (s) => s.via)}; latency ${summary(samples)}`);

  // One audit row per answer: A flushed its buffer before exiting, B flushes every 100 ms.
  const answered = samples.filter((s) => s.status !== 0).length;
  const count = async () => Number((await db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM audit_logs')).rows[0]!.n);
  await waitFor('an audit row for every answer', async () => (await count()) >= answered, 15_000, 100).catch(() => undefined);
  await sleep(300);
  const rows = await count();
  t.equal(rows, answered, `audit rows (${rows}) = requests the clients saw answered (${answered})`);
  const ids = new Set(samples.map((s) => header(s, 'x-request-id')));
  const { rows: listed } = await db.query<{ request_id: string }>('SELECT request_id FROM audit_logs');
  t.equal(listed.filter((r) => !ids.has(r.request_id)).length, 0, "every row is a response a client received (by x-request-id)");
  // B too, before the schema is dropped at teardown (a live instance would hold it up).
  b.child.kill('SIGTERM');
  t.equal(await within(b.exited, 15_000, 'still running after 15 s'), 0, 'B exits 0 on SIGTERM when idle');
  t.comment(`drill 5 took ${(performance.now() - started).toFixed(0)} ms`);
});
