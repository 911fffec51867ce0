import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { auditEvent, type AuditEvent } from '../../src/audit/events.js';
import { cannon, combine, type CannonResult } from '../lib/cannon.js';
import { killChild, stopChild } from '../lib/children.js';
import { timedGet } from '../lib/http.js';
import { createBenchSchema, randomSuffix, tempDir, type BenchSchema } from '../lib/services.js';
import { alternatingSlices, sliceTarget } from '../lib/slices.js';
import { startSidecache, type Running, type RunningSidecache } from '../lib/servers.js';
import { int, ms, type Row } from '../lib/table.js';

/**
 * Scenario 6: the audit trail (one `audit_logs` row per proxied request) against the machine's
 * Postgres, in a fresh schema of the test database dropped at the end. Every run's rows are told
 * apart by a user-agent of its own (`bench-6x-<random>`).
 */

const S = '6 audit';

// (a)
const WARMUP_S = 2;
/** 2.5 s slices, eight per target: on a shared 2-core box, bursts of other work hit both sides alike. */
const MEASURE_S = 20;
const SLICES = 8;
const CONNECTIONS = 50;
const TARGET_RATIO = 0.85;
const ROWS_POLL_MS = 20_000;
// (b)
const SUSTAINED_S = 10;
const READYZ_EVERY_MS = 200;
// (c)
const SPOOL_ROWS = 100_000;
/** The writer's segment size (src/audit/spool.ts DEFAULT_SEGMENT_BYTES): a segment is closed once it reaches it. */
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** The writer spools in appends of batches; segments are cut on an append boundary. */
const APPEND_ROWS = 500;
const REPLAY_BUDGET_MS = 120_000;
// (d)
const KILL_LOOPS = 20;
const KILL_CANNON_WARM_S = 2;
/** The loops first run this long with a warm-up user-agent (JIT, pools), then the measured one until the kill. */
const KILL_WARM_MS = 1_000;
const KILL_AT_MS = 3_000;
const KILL_LOOP_BUDGET_MS = 10_000;
const RECOVERY_BUDGET_MS = 30_000;
/** The shipped audit defaults the README's loss bound is stated for. */
const FLUSH_INTERVAL_MS = 100;
const BATCH_SIZE = 500;

export interface Parts {
  readonly a: boolean;
  readonly b: boolean;
  readonly c: boolean;
  readonly d: boolean;
}

export interface RatioResult {
  readonly off: CannonResult;
  readonly on: CannonResult;
  readonly ratio: number;
  readonly slices: { readonly off: readonly number[]; readonly on: readonly number[] };
  /** on / off of each pair of adjacent slices (run back to back, so under the same background load). */
  readonly pairRatios: readonly number[];
  readonly cpuUsPerRequest: { readonly off: number; readonly on: number };
  /** CPU of all postgres processes on the machine during the slices, per request (other users of the server count too). */
  readonly postgresCpuUsPerRequest: { readonly off: number; readonly on: number };
  /** Responses autocannon (and the warm-up GETs) received from the audit-on child; rows must be at least this. */
  readonly completed: number;
  /** Requests written to it, answered or not; rows can be at most this. */
  readonly sent: number;
  readonly rows: number;
  readonly rowsSettleMs: number;
}

export interface SustainedResult {
  readonly cannon: CannonResult;
  readonly seconds: number;
  readonly rowsInWindow: number;
  readonly rowsPerSecond: number;
  readonly backlogAtEnd: number;
  readonly drainMs: number | null;
  readonly readyzAudit: Record<string, number>;
}

export interface ReplayResult {
  readonly rows: number;
  readonly segments: number;
  readonly spoolBytes: number;
  readonly generateMs: number;
  readonly healthyMs: number;
  readonly doneMs: number | null;
  readonly rowsSeen: number;
  readonly spoolLeft: number;
  readonly readyzAudit: string;
}

export interface KillResult {
  readonly answered: number;
  readonly loadMs: number;
  readonly rate: number;
  readonly spoolRowsAfterKill: number;
  readonly rowsBeforeRestart: number;
  readonly rows: number;
  readonly lost: number;
  readonly lostWindowMs: number;
  readonly boundRows: number;
  readonly recoveredMs: number | null;
  readonly loopErrors: Record<string, number>;
}

export interface AuditResult {
  ratio?: RatioResult;
  sustained?: SustainedResult;
  replay?: ReplayResult;
  kill?: KillResult;
}

const PATH = '/bench/items/audit';

async function readyzAudit(url: string): Promise<string> {
  try {
    const res = await request(`${url}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    const body = (await res.body.json()) as Record<string, unknown>;
    return String(body['audit'] ?? 'absent');
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

const rowsFor = (db: BenchSchema, userAgent: string) => db.count('SELECT count(*) AS n FROM audit_logs WHERE user_agent = $1', [userAgent]);

/** Polls `read` until it reaches `atLeast` and then holds still for `quietMs`, for at most `budgetMs`. */
async function settle(read: () => Promise<number>, atLeast: number, budgetMs: number, quietMs = 1_000): Promise<{ value: number; ms: number }> {
  const started = Date.now();
  let value = await read();
  let changedAt = Date.now();
  while (Date.now() - started < budgetMs) {
    if (value >= atLeast && Date.now() - changedAt >= quietMs) break;
    await sleep(100);
    const next = await read();
    if (next !== value) changedAt = Date.now();
    value = next;
  }
  return { value, ms: changedAt - started };
}

function spoolSegmentNames(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^spool-\d{12}\.ndjson$/.test(f));
}

function spoolRows(dir: string): number {
  let rows = 0;
  for (const name of spoolSegmentNames(dir)) {
    const bytes = readFileSync(join(dir, name));
    for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) rows += 1;
  }
  return rows;
}

/** (a) + (b): audit on vs off in alternating slices, then the audit-on child driven for rows/s. */
async function ratioAndSustained(upstream: Running, db: BenchSchema, parts: Parts, log: (m: string) => void): Promise<Pick<AuditResult, 'ratio' | 'sustained'>> {
  const spool = tempDir('sidecache-bench-spool-');
  const out: Pick<AuditResult, 'ratio' | 'sustained'> = {};
  const common = { upstreamUrl: upstream.url, databaseUrl: db.url, postgresTier: false } as const;
  let on: RunningSidecache | undefined;
  let off: RunningSidecache | undefined;
  const agent = new Agent({ connections: 1 });
  try {
    on = await startSidecache({ ...common, name: 'sidecache-audit-on', audit: { enabled: true, spoolDir: spool.path } });
    if (parts.a) off = await startSidecache({ ...common, name: 'sidecache-audit-off', audit: { enabled: false } });

    if (parts.a && off !== undefined) {
      log(`6a memory hits, audit on vs off (warm-up ${WARMUP_S} s each, then ${MEASURE_S} s each in ${SLICES} alternating slices)`);
      const ua = `bench-6a-${randomSuffix()}`;
      const headers = { 'user-agent': ua };
      let warmGets = 0;
      for (const target of [off, on]) {
        for (let i = 0; i < 2; i++) {
          const res = await timedGet(agent, `${target.url}${PATH}`, headers);
          if (target === on) warmGets += 1;
          if (res.status !== 200) throw new Error(`6a: warm-up answered ${res.status}`);
        }
      }
      const a = sliceTarget(`${off.url}${PATH}`, off.child.pid, headers);
      const b = sliceTarget(`${on.url}${PATH}`, on.child.pid, headers);
      await alternatingSlices(a, b, { warmupS: WARMUP_S, measureS: MEASURE_S, slices: SLICES, connections: CONNECTIONS, sideProcess: 'postgres' });
      const offRes = combine(a.runs);
      const onRes = combine(b.runs);
      const allOn = [b.warmup!, ...b.runs];
      const completed = allOn.reduce((n, r) => n + r.total, 0) + warmGets;
      const sent = allOn.reduce((n, r) => n + r.sent, 0) + warmGets;
      const settled = await settle(() => rowsFor(db, ua), completed, ROWS_POLL_MS);
      out.ratio = {
        off: offRes,
        on: onRes,
        ratio: onRes.rps / offRes.rps,
        slices: { off: a.runs.map((r) => Math.round(r.rps)), on: b.runs.map((r) => Math.round(r.rps)) },
        pairRatios: b.runs.map((r, i) => r.rps / a.runs[i]!.rps),
        cpuUsPerRequest: { off: (a.cpuSeconds * 1e6) / offRes.total, on: (b.cpuSeconds * 1e6) / onRes.total },
        postgresCpuUsPerRequest: { off: (a.sideCpuSeconds * 1e6) / offRes.total, on: (b.sideCpuSeconds * 1e6) / onRes.total },
        completed,
        sent,
        rows: settled.value,
        rowsSettleMs: settled.ms,
      };
      await stopChild(off.child);
      off = undefined;
    }

    if (parts.b) {
      log(`6b sustained audit rows/s: audit-on child driven ${SUSTAINED_S} s (${CONNECTIONS} conns), readyz polled`);
      const ua = `bench-6b-${randomSuffix()}`;
      await timedGet(agent, `${on.url}${PATH}`, { 'user-agent': `${ua}-warm` });
      // Whatever earlier runs left must be in first, so the window counts this run's rows only.
      const before = await settle(() => db.count('SELECT count(*) AS n FROM audit_logs'), 0, 10_000, 500);
      const seen: Record<string, number> = {};
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const state = await readyzAudit(on!.url);
          seen[state] = (seen[state] ?? 0) + 1;
          await sleep(READYZ_EVERY_MS);
        }
      })();
      const started = performance.now();
      let loaded: CannonResult;
      let rowsEnd: number;
      try {
        loaded = await cannon({ url: `${on.url}${PATH}`, seconds: SUSTAINED_S, connections: CONNECTIONS, headers: { 'user-agent': ua } });
        rowsEnd = await db.count('SELECT count(*) AS n FROM audit_logs');
      } finally {
        polling = false;
        await poller;
      }
      const seconds = (performance.now() - started) / 1000;
      const rowsInWindow = rowsEnd - before.value;
      const drained = await settle(() => rowsFor(db, ua), loaded.total, 15_000, 500);
      out.sustained = {
        cannon: loaded,
        seconds,
        rowsInWindow,
        rowsPerSecond: rowsInWindow / seconds,
        backlogAtEnd: loaded.total - rowsInWindow,
        // When the last of this run's rows arrived, counted from the end of the window.
        drainMs: drained.value >= loaded.total ? drained.ms : null,
        readyzAudit: seen,
      };
    }
  } finally {
    await agent.close();
    if (off !== undefined) await stopChild(off.child);
    if (on !== undefined) await stopChild(on.child);
    await spool.remove();
  }
  return out;
}

/** Writes `rows` events as the writer's spool would hold them: NDJSON segments `spool-<12 digits>.ndjson`. */
function writeSpool(dir: string, rows: number, userAgent: string): { segments: number; bytes: number } {
  const now = Date.now();
  let seq = 1;
  let segment: string[] = [];
  let segmentBytes = 0;
  let totalBytes = 0;
  let segments = 0;
  const cut = () => {
    if (segment.length === 0) return;
    writeFileSync(join(dir, `spool-${String(seq++).padStart(12, '0')}.ndjson`), segment.join(''));
    segments += 1;
    segment = [];
    segmentBytes = 0;
  };
  for (let i = 0; i < rows; i++) {
    const event: AuditEvent = auditEvent({
      requestId: `b6c-${userAgent.slice(-8)}-${String(i).padStart(7, '0')}`,
      ts: now - 600_000 + Math.floor((i * 600_000) / rows),
      upstream: 'bench',
      method: 'GET',
      path: `/items/replay-${i % 1000}`,
      action: 'bench.rule1',
      status: 200,
      cacheOutcome: 'HIT',
      cacheTier: 'memory',
      totalMs: 0.25,
      requestBytes: 0,
      responseBytes: 2048,
      clientIp: '127.0.0.1',
      userAgent,
    });
    const line = `${JSON.stringify(event)}\n`;
    segment.push(line);
    segmentBytes += line.length;
    totalBytes += line.length;
    if ((i + 1) % APPEND_ROWS === 0 && segmentBytes >= SEGMENT_BYTES) cut();
  }
  cut();
  return { segments, bytes: totalBytes };
}

/** (c): a sidecache started on a spool of 100k events; time until they are all in audit_logs. */
async function replay(upstream: Running, db: BenchSchema): Promise<ReplayResult> {
  const spool = tempDir('sidecache-bench-replay-');
  let sidecache: RunningSidecache | undefined;
  try {
    const ua = `bench-6c-${randomSuffix()}`;
    const generateStarted = performance.now();
    const written = writeSpool(spool.path, SPOOL_ROWS, ua);
    const generateMs = performance.now() - generateStarted;
    const started = performance.now();
    sidecache = await startSidecache({
      name: 'sidecache-replay',
      upstreamUrl: upstream.url,
      databaseUrl: db.url,
      postgresTier: false,
      audit: { enabled: true, spoolDir: spool.path },
    });
    const healthyMs = performance.now() - started;
    let rowsSeen = 0;
    let doneMs: number | null = null;
    while (performance.now() - started < REPLAY_BUDGET_MS) {
      rowsSeen = await rowsFor(db, ua);
      if (rowsSeen >= SPOOL_ROWS) {
        doneMs = performance.now() - started;
        break;
      }
      await sleep(100);
    }
    await sleep(300);
    return {
      rows: SPOOL_ROWS,
      segments: written.segments,
      spoolBytes: written.bytes,
      generateMs,
      healthyMs,
      doneMs,
      rowsSeen,
      spoolLeft: spoolSegmentNames(spool.path).length,
      readyzAudit: await readyzAudit(sidecache.url),
    };
  } finally {
    if (sidecache !== undefined) await stopChild(sidecache.child);
    await spool.remove();
  }
}

/** (d): kill -9 under load; answered requests vs rows once a new child on the same spool has replayed it. */
async function killLoss(upstream: Running, db: BenchSchema): Promise<KillResult> {
  const spool = tempDir('sidecache-bench-kill-');
  const options = {
    upstreamUrl: upstream.url,
    databaseUrl: db.url,
    postgresTier: false,
    audit: { enabled: true, spoolDir: spool.path, flushInterval: `${FLUSH_INTERVAL_MS}ms`, batchSize: BATCH_SIZE },
  } as const;
  let victim: RunningSidecache | undefined;
  let successor: RunningSidecache | undefined;
  const agent = new Agent({ connections: KILL_LOOPS });
  try {
    victim = await startSidecache({ ...options, name: 'sidecache-kill-victim' });
    const ua = `bench-6d-${randomSuffix()}`;
    const url = `${victim.url}${PATH}`;
    await timedGet(agent, url, { 'user-agent': `${ua}-warm` });
    // A fresh child is several times slower for its first seconds (JIT); warm it with load first.
    await cannon({ url, seconds: KILL_CANNON_WARM_S, connections: CONNECTIONS, headers: { 'user-agent': `${ua}-warm` } });

    let answered = 0;
    let measuring = false;
    const loopErrors: Record<string, number> = {};
    const deadline = Date.now() + KILL_LOOP_BUDGET_MS;
    const timeouts = { headersTimeout: 5_000, bodyTimeout: 5_000 };
    const loops = Array.from({ length: KILL_LOOPS }, async () => {
      while (Date.now() < deadline) {
        const counted = measuring;
        try {
          await timedGet(agent, url, { 'user-agent': counted ? ua : `${ua}-warm` }, timeouts);
          if (counted) answered += 1; // any status: the response reached the client
        } catch (err) {
          const name = (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error');
          loopErrors[name] = (loopErrors[name] ?? 0) + 1;
          return;
        }
      }
    });
    await sleep(KILL_WARM_MS);
    measuring = true;
    const started = performance.now();
    await sleep(KILL_AT_MS - KILL_WARM_MS);
    const killedAt = performance.now();
    await killChild(victim.child);
    victim = undefined;
    await Promise.all(loops);
    const loadMs = killedAt - started;
    const rate = answered / (loadMs / 1000);
    const spoolRowsAfterKill = spoolRows(spool.path);
    const rowsBeforeRestart = await rowsFor(db, ua);

    // A successor on the same spool replays whatever the victim spooled; then count.
    const restarted = performance.now();
    successor = await startSidecache({ ...options, name: 'sidecache-kill-successor' });
    let recoveredMs: number | null = null;
    while (performance.now() - restarted < RECOVERY_BUDGET_MS) {
      if (spoolSegmentNames(spool.path).length === 0 && (await readyzAudit(successor.url)) === 'ok') {
        recoveredMs = performance.now() - restarted;
        break;
      }
      await sleep(100);
    }
    const rows = (await settle(() => rowsFor(db, ua), 0, 5_000, 500)).value;
    const lost = answered - rows;
    return {
      answered,
      loadMs,
      rate,
      spoolRowsAfterKill,
      rowsBeforeRestart,
      rows,
      lost,
      lostWindowMs: (lost / rate) * 1000,
      boundRows: Math.ceil(rate * (FLUSH_INTERVAL_MS / 1000)) + BATCH_SIZE,
      recoveredMs,
      loopErrors,
    };
  } finally {
    await agent.close();
    if (victim !== undefined) await killChild(victim.child);
    if (successor !== undefined) await stopChild(successor.child);
    await spool.remove();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function rowsOf(result: AuditResult): Row[] {
  const rows: Row[] = [];
  const r = result.ratio;
  if (r !== undefined) {
    rows.push(
      { scenario: S, metric: '(a) memory-hit req/s audit off', value: int(r.off.rps) },
      { scenario: S, metric: '(a) memory-hit req/s audit on', value: int(r.on.rps) },
      { scenario: S, metric: '(a) p50 / worst p99 off | on', value: `${ms(r.off.p50)} / ${ms(r.off.p99)} | ${ms(r.on.p50)} / ${ms(r.on.p99)}` },
      { scenario: S, metric: '(a) req/s per slice off | on', value: `${r.slices.off.join(' ')} | ${r.slices.on.join(' ')}` },
      { scenario: S, metric: '(a) server CPU per request off | on', value: `${r.cpuUsPerRequest.off.toFixed(1)} µs | ${r.cpuUsPerRequest.on.toFixed(1)} µs` },
      {
        scenario: S,
        metric: '(a) postgres CPU per request off | on (all postgres procs)',
        value: `${r.postgresCpuUsPerRequest.off.toFixed(1)} µs | ${r.postgresCpuUsPerRequest.on.toFixed(1)} µs`,
      },
      {
        scenario: S,
        metric: '(a) errors + non-2xx (both)',
        value: int(r.off.errors + r.off.non2xx + r.on.errors + r.on.non2xx),
        target: '0',
        pass: r.off.errors + r.off.non2xx + r.on.errors + r.on.non2xx === 0,
      },
      { scenario: S, metric: '(a) ratio audit on / off', value: r.ratio.toFixed(3), target: `>= ${TARGET_RATIO}`, pass: r.ratio >= TARGET_RATIO },
      {
        scenario: S,
        metric: '(a) ratio per adjacent slice pair: median (min-max)',
        value: `${median(r.pairRatios).toFixed(3)} (${Math.min(...r.pairRatios).toFixed(2)}-${Math.max(...r.pairRatios).toFixed(2)})`,
      },
      {
        scenario: S,
        metric: `(a) audit rows vs completed (in flight at stop: ${int(r.sent - r.completed)})`,
        value: `${int(r.rows)} vs ${int(r.completed)} (${r.rows - r.completed >= 0 ? '+' : ''}${r.rows - r.completed})`,
        target: 'completed <= rows <= sent',
        pass: r.rows >= r.completed && r.rows <= r.sent,
      },
    );
  }
  const s = result.sustained;
  if (s !== undefined) {
    const notOk = Object.entries(s.readyzAudit).filter(([k]) => k !== 'ok');
    rows.push(
      { scenario: S, metric: `(b) requests/s driven (${SUSTAINED_S} s, ${CONNECTIONS} conns)`, value: int(s.cannon.rps) },
      { scenario: S, metric: '(b) audit rows inserted/s in the window', value: int(s.rowsPerSecond) },
      {
        scenario: S,
        metric: '(b) rows behind at end | caught up after',
        value: `${int(s.backlogAtEnd)} | ${s.drainMs === null ? 'not within 15 s' : ms(s.drainMs)}`,
      },
      {
        scenario: S,
        metric: `(b) readyz audit during run (every ${READYZ_EVERY_MS} ms)`,
        value: Object.entries(s.readyzAudit).map(([k, v]) => `${k}=${v}`).join(' '),
        target: 'all ok',
        pass: notOk.length === 0 && (s.readyzAudit['ok'] ?? 0) > 0,
      },
    );
  }
  const p = result.replay;
  if (p !== undefined) {
    rows.push(
      { scenario: S, metric: '(c) spool: rows / segments / size', value: `${int(p.rows)} / ${p.segments} / ${(p.spoolBytes / 1024 / 1024).toFixed(1)} MB` },
      { scenario: S, metric: '(c) start to healthy', value: ms(p.healthyMs) },
      {
        scenario: S,
        metric: `(c) start to ${int(p.rows)} rows in audit_logs (healthy to all)`,
        value:
          p.doneMs === null
            ? `${int(p.rowsSeen)} rows after ${REPLAY_BUDGET_MS / 1000} s`
            : `${(p.doneMs / 1000).toFixed(2)} s (${((p.doneMs - p.healthyMs) / 1000).toFixed(2)} s, ${int(p.rows / ((p.doneMs - p.healthyMs) / 1000))} rows/s)`,
        target: `all ${int(p.rows)}`,
        pass: p.doneMs !== null,
      },
      { scenario: S, metric: '(c) spool segments left | readyz audit', value: `${p.spoolLeft} | ${p.readyzAudit}`, target: '0 | ok', pass: p.spoolLeft === 0 && p.readyzAudit === 'ok' },
    );
  }
  const k = result.kill;
  if (k !== undefined) {
    rows.push(
      {
        scenario: S,
        metric: `(d) answered before kill -9 (${KILL_LOOPS} loops, ${(k.loadMs / 1000).toFixed(1)} s after ${KILL_WARM_MS / 1000} s warm)`,
        value: `${int(k.answered)} (${int(k.rate)}/s)`,
      },
      { scenario: S, metric: '(d) rows at kill: in table | in spool', value: `${int(k.rowsBeforeRestart)} | ${int(k.spoolRowsAfterKill)}` },
      { scenario: S, metric: '(d) rows after successor replayed', value: `${int(k.rows)} (recovered in ${k.recoveredMs === null ? 'n/a' : ms(k.recoveredMs)})` },
      {
        scenario: S,
        metric: `(d) lost rows (window at ${int(k.rate)}/s)`,
        value: `${int(k.lost)} (${ms(k.lostWindowMs)})`,
        target: `<= ${int(k.boundRows)} (${FLUSH_INTERVAL_MS} ms + ${BATCH_SIZE}-row batch)`,
        pass: k.lost <= k.boundRows,
      },
    );
  }
  return rows;
}

/** Scenario 6, the parts selected (BENCH_ONLY=6 for all, or e.g. 6c,6d). */
export async function audit(upstream: Running, parts: Parts, log: (message: string) => void): Promise<{ rows: Row[]; result: AuditResult }> {
  const db = await createBenchSchema();
  const result: AuditResult = {};
  try {
    if (parts.a || parts.b) Object.assign(result, await ratioAndSustained(upstream, db, parts, log));
    if (parts.c) {
      log(`6c replay of a ${int(SPOOL_ROWS)}-row spool`);
      result.replay = await replay(upstream, db);
    }
    if (parts.d) {
      log(`6d kill -9 under load (${KILL_LOOPS} sequential loops, kill at ${KILL_AT_MS / 1000} s)`);
      result.kill = await killLoss(upstream, db);
    }
  } finally {
    await db.drop().catch((err: unknown) => log(`WARNING: schema ${db.schema} drop failed: ${String(err)}`));
    log(`6 cleaned up: schema ${db.schema} dropped`);
  }
  return { rows: rowsOf(result), result };
}
