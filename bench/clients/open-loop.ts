/**
 * Load child for scenario 10 (upstream slowed tenfold), run pinned to the load core. Sends GETs
 * at fixed rates (open loop: the rate holds whatever the latency, as real callers do) for
 * DURATION_MS, in two classes: `cached` cycles over CACHED_COUNT paths `${CACHED_PREFIX}${i}`
 * at CACHED_RATE/s, `uncached` sends fresh paths `${UNCACHED_PREFIX}${n}` at UNCACHED_RATE/s,
 * and `direct` asks the upstream itself (DIRECT_URL) at DIRECT_RATE/s, to show its latency.
 * At SWITCH_AT_MS it POSTs SWITCH_URL (the upstream's `/__delay?ms=N`). Requests are split by
 * when they were sent: `warmup` (the first WARMUP_MS, while connections open and code warms up),
 * `before`, and `after` the moment that POST was answered.
 * Each class has its own connection pool and its own cap of MAX_OUTSTANDING requests in flight
 * (one socket each), so a backlog of slow uncached requests never delays a cached one here.
 * When this process itself falls behind schedule by more than MAX_LAG_MS (a busy core, a GC
 * pause), the requests beyond that are skipped and counted as `lagged` rather than sent as a
 * burst the server never asked for.
 * Prints one JSON line (times in epoch ms, latencies in ms).
 * Env: BASE_URL, CACHED_PREFIX, CACHED_COUNT, CACHED_RATE, UNCACHED_PREFIX, UNCACHED_RATE,
 * DIRECT_URL, DIRECT_RATE,
 * DURATION_MS, WARMUP_MS, SWITCH_AT_MS, SWITCH_URL, TIMEOUT_MS, MAX_OUTSTANDING.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { envNumber, envText } from '../lib/child-env.js';
import { percentile } from '../lib/stats.js';


const BASE_URL = envText('BASE_URL');
const DURATION_MS = envNumber('DURATION_MS');
const WARMUP_MS = envNumber('WARMUP_MS');
const SWITCH_AT_MS = envNumber('SWITCH_AT_MS');
const SWITCH_URL = envText('SWITCH_URL');
const TIMEOUT_MS = envNumber('TIMEOUT_MS');
const MAX_OUTSTANDING = envNumber('MAX_OUTSTANDING');
const TICK_MS = 5;
const MAX_LAG_MS = 100;

type Phase = 'warmup' | 'before' | 'after';
type ClassName = 'cached' | 'uncached' | 'direct';

interface Tally {
  sent: number;
  ok: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  latencies: number[];
}

interface LoadClass {
  readonly name: ClassName;
  readonly rate: number;
  readonly pool: Pool;
  outstanding: number;
  readonly path: (n: number) => string;
  issued: number;
  /** Requests the generator skipped because MAX_OUTSTANDING were in flight. */
  dropped: number;
  /** Requests skipped because the generator was more than MAX_LAG_MS behind schedule. */
  lagged: number;
  readonly phases: Record<Phase, Tally>;
  /** Per second of the run: [second, 200s, other outcomes]. */
  readonly perSecond: Map<number, [number, number]>;
}

const tally = (): Tally => ({ sent: 0, ok: 0, statuses: {}, errors: {}, latencies: [] });
const cachedPrefix = envText('CACHED_PREFIX');
const cachedCount = envNumber('CACHED_COUNT');
const uncachedPrefix = envText('UNCACHED_PREFIX');
const loadClass = (name: ClassName, rate: number, path: (n: number) => string, origin = BASE_URL): LoadClass => ({
  name,
  rate,
  pool: new Pool(origin, { connections: MAX_OUTSTANDING }),
  outstanding: 0,
  path,
  issued: 0,
  dropped: 0,
  lagged: 0,
  phases: { warmup: tally(), before: tally(), after: tally() },
  perSecond: new Map(),
});
const classes: LoadClass[] = [
  loadClass('cached', envNumber('CACHED_RATE'), (n) => `${cachedPrefix}${n % cachedCount}`),
  loadClass('uncached', envNumber('UNCACHED_RATE'), (n) => `${uncachedPrefix}${n}`),
  loadClass('direct', envNumber('DIRECT_RATE'), (n) => `/direct/${n}`, envText('DIRECT_URL')),
];
let switchedAt: number | null = null;
let switchError: string | null = null;
const inFlight = new Set<Promise<void>>();

function send(c: LoadClass, startedAt: number): void {
  const sentAt = Date.now();
  const phase: Phase = switchedAt !== null ? 'after' : sentAt - startedAt < WARMUP_MS ? 'warmup' : 'before';
  const t = c.phases[phase];
  t.sent += 1;
  const second = Math.floor((sentAt - startedAt) / 1000);
  const bucket = c.perSecond.get(second) ?? [0, 0];
  c.perSecond.set(second, bucket);
  c.outstanding += 1;
  const done = (async () => {
    try {
      const res = await c.pool.request({ method: 'GET', path: c.path(c.issued++), headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
      await res.body.dump();
      t.latencies.push(Date.now() - sentAt);
      t.statuses[res.statusCode] = (t.statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) {
        t.ok += 1;
        bucket[0] += 1;
      } else bucket[1] += 1;
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error');
      t.errors[code] = (t.errors[code] ?? 0) + 1;
      bucket[1] += 1;
    } finally {
      c.outstanding -= 1;
    }
  })();
  inFlight.add(done);
  void done.then(() => inFlight.delete(done));
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const due = new Map<ClassName, number>(classes.map((c) => [c.name, 0]));
  let switching = false;
  while (Date.now() - startedAt < DURATION_MS) {
    const elapsed = Date.now() - startedAt;
    if (!switching && elapsed >= SWITCH_AT_MS) {
      switching = true;
      request(SWITCH_URL, { method: 'POST', headersTimeout: 5_000, bodyTimeout: 5_000 })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode === 200) switchedAt = Date.now();
          else switchError = `POST ${SWITCH_URL}: ${res.statusCode}`;
        })
        .catch((err: unknown) => {
          switchError = `POST ${SWITCH_URL}: ${err instanceof Error ? err.message : String(err)}`;
        });
    }
    for (const c of classes) {
      const target = Math.floor((c.rate * elapsed) / 1000);
      let n = due.get(c.name)!;
      const lag = target - n - Math.ceil((c.rate * MAX_LAG_MS) / 1000);
      if (lag > 0) {
        c.lagged += lag;
        n += lag;
      }
      for (; n < target; n++) {
        if (c.outstanding >= MAX_OUTSTANDING) c.dropped += 1;
        else send(c, startedAt);
      }
      due.set(c.name, n);
    }
    await sleep(TICK_MS);
  }
  const endedAt = Date.now();
  const drainDeadline = sleep(TIMEOUT_MS + 1_000).then(() => 'timeout' as const);
  const drained = await Promise.race([Promise.all([...inFlight]).then(() => 'drained' as const), drainDeadline]);
  const summary = (t: Tally) => ({
    sent: t.sent,
    ok: t.ok,
    statuses: t.statuses,
    errors: t.errors,
    p50: percentile(t.latencies, 50),
    p99: percentile(t.latencies, 99),
  });
  const report = {
    startedAt,
    switchedAt,
    switchError,
    endedAt,
    unfinished: drained === 'drained' ? 0 : classes.reduce((n, c) => n + c.outstanding, 0),
    classes: Object.fromEntries(
      classes.map((c) => [
        c.name,
        {
          rate: c.rate,
          dropped: c.dropped,
          lagged: c.lagged,
          warmup: summary(c.phases.warmup),
          before: summary(c.phases.before),
          after: summary(c.phases.after),
          perSecond: [...c.perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([s, [ok, other]]) => [s, ok, other]),
        },
      ]),
    ),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

try {
  await main();
} finally {
  await Promise.all(classes.map((c) => c.pool.destroy()));
}
