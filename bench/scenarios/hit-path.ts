import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { stopChild } from '../lib/children.js';
import { timedGet, type Timed } from '../lib/http.js';
import { AUDIT_LOAD_UPSTREAM, startAuditLoad, type AuditLoad } from '../lib/audit-load.js';
import { pinning, SERVER_CPU, withSideProcessesOnLoadCpu } from '../lib/pin.js';
import { readAffinity, readExecutable } from '../lib/proc.js';
import { createBenchSchema, randomSuffix, REDIS_URL, redisNamespace, SERVICE_PROCESSES, SESSION_HEADERS, tempDir } from '../lib/services.js';
import { startBareFastify, startNaive, startSidecache, type Running } from '../lib/servers.js';
import { measureSlice } from '../lib/slices.js';
import { median } from '../lib/stats.js';
import { int, ms, type Row } from '../lib/table.js';
import { runWrk, type WrkOptions } from '../lib/wrk.js';
import { poolRuns, type PooledRuns, type WrkRun } from '../lib/wrk-summary.js';

/**
 * Scenario 1: the memory-hit path. One hot URL (2 KB JSON) through four servers, each alone on
 * the server core, driven by wrk on the load core: bare Fastify (the ceiling), the naive
 * read-through peer (bench/servers/naive.ts, the baseline to beat), sidecache lean (memory tier
 * only, audit off) and sidecache full (memory + Redis + Postgres tiers, audit, sessions,
 * metrics). Postgres and Redis, which the full child uses, are moved to the load core for the
 * slices, so each server under test has the server core to itself. At 50 and then 200 connections: a warm-up run each, then slices in the order
 * A B C D, D C B A, ... so background drift hits all four alike.
 *
 * The full child's requests carry a session: a session token, a user id and a user agent. Those
 * three headers cost any node:http server to parse (about 10% of the naive peer's req/s on this
 * 2-core box), so the naive peer is measured twice, once with the plain requests lean gets and
 * once with the full child's, and full is compared with the naive peer answering the same requests.
 *
 * The full child's audit rows keep Postgres busy on the load core, and on this 2-core VM load on
 * one vCPU can slow the other, whichever server runs there. A control row measures how much: the
 * naive peer answering the full child's requests while a load child (bench/clients/audit-load.ts)
 * COPYs the same rows at the full child's last measured rate.
 *
 * Every wrk run opens its connections before its first request (bench/lib/wrk.ts), so the
 * figures are steady load. What a burst of new connections meets at a busy server (Node accepts
 * one per event-loop turn) is measured apart, once per server at 200 connections.
 */

const S = '1 hit path';
const PATH = '/bench/items/1';
const CONNECTIONS = [50, 200] as const;
const WARMUP_S = 2;
const SLICE_S = 3;
const SLICES = 6;
const WARM_POLL_MS = 5_000;
const AUDIT_SETTLE_MS = 15_000;
const TARGET = { leanVsNaive: 1.0, fullVsNaive: 0.8, p99VsBare: 2 } as const;

type Key = 'bare' | 'naive' | 'lean' | 'naiveSession' | 'full' | 'naiveAuditLoad';
/** The servers whose connection burst is measured (the naive peer once: headers do not change how it accepts). */
const BURST_KEYS = ['bare', 'naive', 'lean', 'full'] as const satisfies readonly Key[];
const BURST_CONNECTIONS = 200;
const KEYS: readonly Key[] = ['bare', 'naive', 'lean', 'naiveSession', 'full', 'naiveAuditLoad'];
const LABEL: Record<Key, string> = {
  bare: 'bare fastify',
  naive: 'naive peer',
  lean: 'sidecache lean',
  naiveSession: "naive peer, full's request headers",
  full: 'sidecache full',
  naiveAuditLoad: "naive peer, full's requests, full's audit COPY beside it",
};

interface Target {
  readonly key: Key;
  readonly server: Running;
  readonly headers?: Record<string, string>;
  /** Runs beside this target's runs at the full child's last measured req/s (the control row). */
  readonly auditLoad?: AuditLoad;
}

/** One server at one connection count, over its measured slices. */
export interface HitMeasure extends PooledRuns {
  readonly warmup: WrkRun;
  /** Server-process CPU (user + system) per response, in µs. */
  readonly cpuUsPerRequest: number;
  /**
   * The server's CPU time over the slices' wall time: how much of its core it got. Below ~95%
   * with core 1 busy, other processes on the box took the rest, and req/s is capped by that.
   */
  readonly coreShare: number;
  /** CPU of postgres and redis-server processes per response, in µs (the full child's tiers and audit). */
  readonly sideCpuUsPerRequest: number;
  /** Busy share of each core over the slices (core 0: load, core 1: server). */
  readonly coreBusy: readonly number[];
}

export interface HitPathResult {
  readonly pinning: string;
  /** Where Postgres and Redis ran during the slices (moved to the load core when pinning is on). */
  readonly sideProcesses: string;
  readonly affinity: Record<Key, string>;
  readonly sample: Record<'naive' | 'lean' | 'full', { status: number; xCache: string | undefined; tier: string | undefined }>;
  readonly fullReadyz: unknown;
  readonly measures: Record<string, Record<Key, HitMeasure>>;
  /**
   * One run per server at 200 connections that start their requests as they connect, while the
   * server is already busy with the first ones: p99 and the slowest response, in ms.
   */
  readonly connectionBurst: Record<(typeof BURST_KEYS)[number], { readonly p99: number; readonly maxMs: number; readonly requests: number }>;
  readonly ratios: {
    readonly leanVsNaive: Record<string, number>;
    /** Against the naive peer answering the full child's requests (session headers and all). */
    readonly fullVsNaive: Record<string, number>;
    /** Against the naive peer answering lean's plain requests. */
    readonly fullVsPlainNaive: Record<string, number>;
    /** Against the naive peer answering the full child's requests with the same audit COPY load on Postgres. */
    readonly fullVsAuditLoadNaive: Record<string, number>;
    readonly naiveVsBare: Record<string, number>;
    readonly leanVsBare: Record<string, number>;
    readonly p99LeanVsBare200: number;
    /** naive CPU per request / lean (and full) CPU per request: the req/s ratio each would reach with a core to itself. */
    readonly leanVsNaiveByCpu: Record<string, number>;
    readonly fullVsNaiveByCpu: Record<string, number>;
  };
  readonly audit: { readonly rows: number | string; readonly responses: number };
  /** lean / bare req/s at 50 connections (scenario 7 quotes it). */
  readonly ratio: number;
}

/** GETs `url` until a response is a memory hit (or `WARM_POLL_MS` passes); returns the last. */
async function warm(agent: Agent, url: string, headers?: Record<string, string>): Promise<Timed> {
  const deadline = Date.now() + WARM_POLL_MS;
  let last = await timedGet(agent, url, headers);
  while (Date.now() < deadline && !(last.xCache === 'HIT' && last.tier === 'memory')) {
    await sleep(20);
    last = await timedGet(agent, url, headers);
  }
  return last;
}

/** "1" when the child is node pinned to the server core, else what is wrong. */
async function checkAffinity(server: Running): Promise<string> {
  const cpus = await readAffinity(server.child.pid);
  const exe = basename(await readExecutable(server.child.pid));
  return exe === 'node' ? cpus : `${cpus} (${exe}, not node)`;
}

/** A wrk run of the hot URL against the target, with the target's request headers. */
const wrkOptions = (t: Target, connections: number, seconds: number): WrkOptions => ({
  url: `${t.server.url}${PATH}`,
  connections,
  seconds,
  ...(t.headers === undefined ? {} : { headers: t.headers }),
});

/** Warm-up and slices at one connection count; every target measured SLICES times. */
async function measureAt(connections: number, targets: readonly Target[], log: (m: string) => void): Promise<Record<Key, HitMeasure>> {
  let fullRps = 0;
  const wrkFor = async (t: Target, seconds: number) => {
    await t.auditLoad?.setRate(fullRps);
    try {
      const run = await runWrk(wrkOptions(t, connections, seconds));
      if (t.key === 'full') fullRps = run.rps;
      return run;
    } finally {
      await t.auditLoad?.setRate(0);
    }
  };
  const acc = new Map<Key, { warmup: WrkRun; runs: WrkRun[]; cpu: number; side: number; busy: number[]; total: number[] }>();
  for (const t of targets) acc.set(t.key, { warmup: await wrkFor(t, WARMUP_S), runs: [], cpu: 0, side: 0, busy: [], total: [] });
  for (let slice = 0; slice < SLICES; slice++) {
    for (const t of slice % 2 === 0 ? targets : [...targets].reverse()) {
      const a = acc.get(t.key)!;
      const { value: run, usage } = await measureSlice(t.server.child.pid, SERVICE_PROCESSES, () => wrkFor(t, SLICE_S));
      a.runs.push(run);
      a.cpu += usage.cpuS;
      a.side += usage.sideS;
      usage.cores.forEach((c, i) => {
        a.busy[i] = (a.busy[i] ?? 0) + c.busy;
        a.total[i] = (a.total[i] ?? 0) + c.total;
      });
    }
    log(`1 @${connections}: slice ${slice + 1}/${SLICES} done`);
  }
  const out = {} as Record<Key, HitMeasure>;
  for (const t of targets) {
    const a = acc.get(t.key)!;
    const pooled = poolRuns(a.runs);
    const busy = a.total.map((total, i) => (total === 0 ? Number.NaN : (a.busy[i] ?? 0) / total));
    out[t.key] = {
      ...pooled,
      warmup: a.warmup,
      cpuUsPerRequest: (a.cpu * 1e6) / pooled.requests,
      coreShare: a.cpu / pooled.seconds,
      sideCpuUsPerRequest: (a.side * 1e6) / pooled.requests,
      coreBusy: busy,
    };
  }
  return out;
}

async function readyz(url: string): Promise<unknown> {
  try {
    const res = await request(`${url}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    const body = (await res.body.json()) as Record<string, unknown>;
    return { tiers: body['tiers'], audit: body['audit'] };
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Scenario 1 against `upstream` (the bench upstream, no delay). */
export async function hitPath(upstream: Running, log: (message: string) => void): Promise<{ rows: Row[]; result: HitPathResult }> {
  const db = await createBenchSchema();
  const redisNs = redisNamespace();
  const dataDir = tempDir('sidecache-bench-full-');
  const started: Running[] = [];
  let auditLoad: AuditLoad | null = null;
  const agent = new Agent({ connections: 1 });
  try {
    const bare = await startBareFastify();
    started.push(bare);
    const naive = await startNaive(upstream.url);
    started.push(naive);
    const lean = await startSidecache({ name: 'sidecache-lean', upstreamUrl: upstream.url });
    started.push(lean);
    const full = await startSidecache({
      name: 'sidecache-full',
      upstreamUrl: upstream.url,
      redisUrl: REDIS_URL,
      databaseUrl: db.url,
      namespace: redisNs.namespace,
      audit: { enabled: true },
      dataDir: dataDir.path,
    });
    started.push(full);
    const fullHeaders = { ...SESSION_HEADERS, 'user-agent': `bench-1-${randomSuffix()}` };
    const targets: Target[] = [
      { key: 'bare', server: bare },
      { key: 'naive', server: naive },
      { key: 'lean', server: lean },
      { key: 'naiveSession', server: naive, headers: fullHeaders },
      { key: 'full', server: full, headers: fullHeaders },
    ];
    // After the full child has migrated the schema: the load child COPYs into its audit_logs.
    auditLoad = await startAuditLoad(db.url);
    targets.push({ key: 'naiveAuditLoad', server: naive, headers: fullHeaders, auditLoad });

    const affinity = {} as Record<Key, string>;
    for (const t of targets) affinity[t.key] = await checkAffinity(t.server);
    const sampleOf = (r: Timed) => ({ status: r.status, xCache: r.xCache, tier: r.tier });
    const sample = {
      // The naive peer sends no x-cache: its first GET fills the LRU, the second is a hit.
      naive: sampleOf(await timedGet(agent, `${naive.url}${PATH}`).then(() => timedGet(agent, `${naive.url}${PATH}`))),
      lean: sampleOf(await warm(agent, `${lean.url}${PATH}`)),
      full: sampleOf(await warm(agent, `${full.url}${PATH}`, fullHeaders)),
    };
    const fullReadyz = await readyz(full.url);

    const measures: Record<string, Record<Key, HitMeasure>> = {};
    const connectionBurst = {} as HitPathResult['connectionBurst'];
    const { note: sideProcesses } = await withSideProcessesOnLoadCpu(SERVICE_PROCESSES, async () => {
      for (const connections of CONNECTIONS) {
        log(`1 @${connections} connections: warm-up ${WARMUP_S} s each, then ${SLICES} x ${SLICE_S} s slices each`);
        measures[connections] = await measureAt(connections, targets, log);
      }
      log(`1: ${BURST_CONNECTIONS} connections opened under load, ${SLICE_S} s each`);
      for (const key of BURST_KEYS) {
        const t = targets.find((target) => target.key === key)!;
        const run = await runWrk({ ...wrkOptions(t, BURST_CONNECTIONS, SLICE_S), connectFirst: false });
        connectionBurst[key] = { p99: run.p99, maxMs: run.maxMs, requests: run.requests };
      }
    });

    // Every request the full child answered should have its audit row once the writer catches up.
    const fullRuns = Object.values(measures).map((m) => m['full']);
    const responses = fullRuns.reduce((n, m) => n + m.requests + m.warmup.requests, 0) + connectionBurst.full.requests;
    let rows: number | string = 0;
    const deadline = Date.now() + AUDIT_SETTLE_MS;
    let previous = -1;
    while (Date.now() < deadline) {
      try {
        rows = await db.count('SELECT count(*) AS n FROM audit_logs WHERE upstream IS DISTINCT FROM $1', [AUDIT_LOAD_UPSTREAM]);
      } catch (err) {
        rows = `error: ${err instanceof Error ? err.message : String(err)}`;
        break;
      }
      if (rows >= responses && rows === previous) break;
      previous = rows;
      await sleep(500);
    }

    const at = (c: number) => measures[c]!;
    const ratioOf = (num: Key, den: Key) => Object.fromEntries(CONNECTIONS.map((c) => [c, at(c)[num].rps / at(c)[den].rps]));
    const ratios = {
      leanVsNaive: ratioOf('lean', 'naive'),
      fullVsNaive: ratioOf('full', 'naiveSession'),
      fullVsPlainNaive: ratioOf('full', 'naive'),
      fullVsAuditLoadNaive: ratioOf('full', 'naiveAuditLoad'),
      naiveVsBare: ratioOf('naive', 'bare'),
      leanVsBare: ratioOf('lean', 'bare'),
      p99LeanVsBare200: at(200).lean.p99 / at(200).bare.p99,
      leanVsNaiveByCpu: Object.fromEntries(CONNECTIONS.map((c) => [c, at(c).naive.cpuUsPerRequest / at(c).lean.cpuUsPerRequest])),
      fullVsNaiveByCpu: Object.fromEntries(CONNECTIONS.map((c) => [c, at(c).naiveSession.cpuUsPerRequest / at(c).full.cpuUsPerRequest])),
    };
    const result: HitPathResult = {
      pinning: pinning().reason,
      sideProcesses,
      affinity,
      sample,
      fullReadyz,
      measures,
      connectionBurst,
      ratios,
      audit: { rows, responses },
      ratio: ratios.leanVsBare[50]!,
    };
    return { rows: rowsOf(result), result };
  } finally {
    await agent.close();
    if (auditLoad !== null) await auditLoad.stop();
    for (const server of started.reverse()) await stopChild(server.child);
    await redisNs.cleanup().catch((err: unknown) => log(`WARNING: redis namespace ${redisNs.namespace} cleanup failed: ${String(err)}`));
    await db.drop().catch((err: unknown) => log(`WARNING: schema ${db.schema} drop failed: ${String(err)}`));
    await dataDir.remove();
  }
}

const pct = (share: number) => (Number.isNaN(share) ? '-' : `${Math.round(share * 100)}%`);
const x = (ratio: number) => `${ratio.toFixed(2)}x`;
/**
 * The ratio of two servers' req/s slice by slice (the i-th slice of each comes from the same
 * round of the rotation), as lowest–highest and median: how far one run's pooled ratio, which
 * the targets judge, can be trusted.
 */
const sliceSpread = (num: PooledRuns, den: PooledRuns) => {
  const ratios = num.perRun.map((run, i) => run.rps / den.perRun[i]!.rps);
  return `slices ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, median ${median(ratios).toFixed(2)}`;
};
/** A ratio judged against a floor: three decimals where two would round it onto the other side. */
const xAgainst = (ratio: number, floor: number) => ((Number(ratio.toFixed(2)) >= floor) === (ratio >= floor) ? x(ratio) : `${ratio.toFixed(3)}x`);

function rowsOf(r: HitPathResult): Row[] {
  const pinned = pinning().enabled;
  const affinityOk = KEYS.every((k) => r.affinity[k] === SERVER_CPU);
  const rows: Row[] = [
    {
      scenario: S,
      metric: `pinning: wrk -t1 on core 0; server CPUs (${KEYS.join(' ')})`,
      value: pinned ? KEYS.map((k) => r.affinity[k]).join(' ') : `off: ${r.pinning}`,
      target: pinned ? `${SERVER_CPU} each` : 'pinned',
      pass: pinned && affinityOk,
    },
    {
      scenario: S,
      metric: 'sample x-cache / tier: lean | full',
      value: `${r.sample.lean.xCache ?? '-'} ${r.sample.lean.tier ?? '-'} | ${r.sample.full.xCache ?? '-'} ${r.sample.full.tier ?? '-'}`,
      target: 'HIT memory',
      pass: [r.sample.lean, r.sample.full].every((s) => s.status === 200 && s.xCache === 'HIT' && s.tier === 'memory'),
    },
    { scenario: S, metric: 'postgres and redis-server during the slices', value: r.sideProcesses },
    { scenario: S, metric: 'full child /readyz tiers, audit', value: JSON.stringify(r.fullReadyz).replace(/"/g, '') },
  ];
  let failures = 0;
  for (const c of CONNECTIONS) {
    const m = r.measures[c]!;
    for (const k of KEYS) {
      const v = m[k];
      failures += v.errors + v.httpErrors;
      const side = k === 'full' || k === 'naiveAuditLoad' ? ` (+${v.sideCpuUsPerRequest.toFixed(1)} pg/redis)` : '';
      rows.push({
        scenario: S,
        metric: `@${c} ${LABEL[k]}: req/s, p50 / p99, CPU per request (share of core 1)`,
        value: `${int(v.rps)}  ${ms(v.p50)} / ${ms(v.p99)}  ${v.cpuUsPerRequest.toFixed(1)} µs${side} (${pct(v.coreShare)})`,
      });
    }
    rows.push({
      scenario: S,
      metric: `@${c} cores 0 / 1 busy: ${KEYS.join(' | ')}`,
      value: KEYS.map((k) => `${pct(m[k].coreBusy[0] ?? Number.NaN)}/${pct(m[k].coreBusy[1] ?? Number.NaN)}`).join(' | '),
    });
  }
  const { leanVsNaive, fullVsNaive, fullVsPlainNaive, fullVsAuditLoadNaive, naiveVsBare, leanVsBare } = r.ratios;
  rows.push(
    { scenario: S, metric: 'errors + responses >= 400 (all runs)', value: int(failures), target: '0', pass: failures === 0 },
    { scenario: S, metric: 'naive / bare req/s @50 | @200', value: `${x(naiveVsBare[50]!)} | ${x(naiveVsBare[200]!)}` },
    { scenario: S, metric: 'lean / bare req/s @50 | @200', value: `${x(leanVsBare[50]!)} | ${x(leanVsBare[200]!)}` },
  );
  for (const c of CONNECTIONS) {
    const m = r.measures[c]!;
    rows.push({ scenario: S, metric: `lean / naive req/s @${c}`, value: `${xAgainst(leanVsNaive[c]!, TARGET.leanVsNaive)} (${sliceSpread(m.lean, m.naive)})`, target: `>= ${TARGET.leanVsNaive.toFixed(1)}x`, pass: leanVsNaive[c]! >= TARGET.leanVsNaive });
  }
  for (const c of CONNECTIONS) {
    rows.push({
      scenario: S,
      metric: `full / naive req/s @${c}, the same requests (plain naive: ${x(fullVsPlainNaive[c]!)})`,
      value: `${xAgainst(fullVsNaive[c]!, TARGET.fullVsNaive)} (${sliceSpread(r.measures[c]!.full, r.measures[c]!.naiveSession)})`,
      target: `>= ${TARGET.fullVsNaive.toFixed(1)}x`,
      pass: fullVsNaive[c]! >= TARGET.fullVsNaive,
    });
  }
  rows.push(
    {
      scenario: S,
      metric: "full / naive req/s @50 | @200, the naive peer with full's audit COPY beside it (control)",
      value: CONNECTIONS.map((c) => `${x(fullVsAuditLoadNaive[c]!)} (${sliceSpread(r.measures[c]!.full, r.measures[c]!.naiveAuditLoad)})`).join(' | '),
    },
    {
      scenario: S,
      metric: 'p99 lean / p99 bare @200',
      value: `${x(r.ratios.p99LeanVsBare200)} (${ms(r.measures[200]!.lean.p99)} / ${ms(r.measures[200]!.bare.p99)})`,
      target: `<= ${TARGET.p99VsBare}x`,
      pass: r.ratios.p99LeanVsBare200 <= TARGET.p99VsBare,
    },
    {
      scenario: S,
      metric: `${BURST_CONNECTIONS} connections opened under load (one run each): p99 / slowest, ${BURST_KEYS.join(' | ')}`,
      value: BURST_KEYS.map((k) => `${ms(r.connectionBurst[k].p99)} / ${ms(r.connectionBurst[k].maxMs)}`).join(' | '),
    },
    {
      scenario: S,
      metric: 'by CPU per request (a core to itself): lean / naive, full / naive @50 | @200',
      value: `${x(r.ratios.leanVsNaiveByCpu[50]!)}, ${x(r.ratios.fullVsNaiveByCpu[50]!)} | ${x(r.ratios.leanVsNaiveByCpu[200]!)}, ${x(r.ratios.fullVsNaiveByCpu[200]!)}`,
    },
    { scenario: S, metric: 'full: audit rows / responses', value: `${typeof r.audit.rows === 'number' ? int(r.audit.rows) : r.audit.rows} / ${int(r.audit.responses)}` },
  );
  return rows;
}
