import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { cannonTimeline, type CannonResult, type Timeline } from '../lib/cannon.js';
import { killChild, stopChild } from '../lib/children.js';
import { control, runPool, timedGet } from '../lib/http.js';
import { freePort } from '../lib/net.js';
import { promBy, promSum, scrapeMetrics, type PromSample } from '../lib/prom.js';
import { randomSuffix } from '../lib/services.js';
import { startOrigin, startSidecache, type Running, type RunningSidecache } from '../lib/servers.js';
import { summarize } from '../lib/stats.js';
import { BODY_BYTES } from '../servers/body.js';
import { int, mb, ms, type Row } from '../lib/table.js';

/**
 * Scenario 8 (issue 6): the upstream killed under load, and what conditional revalidation saves.
 * (a) 100 connections over 1,000 cached URLs; the origin child is SIGKILLed by PID for 30 s in
 *     the middle of the run and started again on the same port. Rules: ttl 3 s, stale-while-
 *     revalidate 2 s, stale-if-error 10 min, so every entry is past both windows within 5 s of
 *     the kill and only stale-if-error (then the open breaker) keeps it served.
 * (b) the same load shape at 20 connections, once over URLs whose origin sends an ETag (and 304s
 *     a matching If-None-Match) and once over URLs without validators; body bytes the origin sent.
 */

const S = '8 outage';

const URLS = 1000;
const RULE_TIMES = 'ttl: 3s, staleWhileRevalidate: 2s, staleIfError: 10m, scope: shared';
/** A short open period, so recovery after the restart shows within the run. */
const PROTECTION = '{ breaker: { openFor: 5s } }';
const WARM_CONCURRENCY = 32;
const WARM_BUDGET_MS = 30_000;

// (a)
const DRILL_CONNECTIONS = 100;
const BEFORE_S = 5;
const OUTAGE_S = 30;
const AFTER_S = 10;
const REQUEST_TIMEOUT_S = 10;
/** Load before the measured run, so the child's hot path is compiled and its sockets open. */
const DRILL_WARMUP_S = 3;

// (b)
const REVALIDATION_CONNECTIONS = 20;
const REVALIDATION_S = 6;

export interface Parts {
  readonly a: boolean;
  readonly b: boolean;
}

interface PhaseFigures {
  readonly responses: number;
  readonly ok2xx: number;
  readonly errors: number;
  readonly statuses: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** sidecache_requests_total by cache outcome over the phase (metric deltas). */
  readonly cache: Record<string, number>;
  readonly staleReasons: Record<string, number>;
}

export interface DrillResult {
  readonly killedAtMs: number;
  readonly restartedAtMs: number;
  readonly runS: number;
  readonly summary: CannonResult;
  readonly phases: { before: PhaseFigures; outage: PhaseFigures; after: PhaseFigures };
  readonly clientResponses: number;
  readonly upstreamCalls: number;
  readonly upstreamCallsBeforeKill: number;
  readonly upstreamCallsAfterRestart: number;
  readonly breakerOpens: number;
}

export interface RevalidationRun {
  readonly family: 'etag' | 'plain';
  readonly clientResponses: number;
  readonly non2xx: number;
  readonly calls: number;
  readonly ok: number;
  readonly notModified: number;
  readonly bodyBytes: number;
  /** sidecache_requests_total by cache outcome over the run. */
  readonly outcomes: Record<string, number>;
}

export interface OutageScenarioResult {
  drill?: DrillResult;
  revalidation?: { etag: RevalidationRun; plain: RevalidationRun };
}

/** Deterministic PRNG (mulberry32): every run draws the same URL sequence. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Counts = { calls: number; ok: number; notModified: number; bodyBytes: number };

const originCounts = (agent: Agent, origin: Running) => control(agent, `${origin.url}/__count`) as Promise<Counts>;

function rules(): string[] {
  return [`{ path: /plain/:id, ${RULE_TIMES} }`, `{ path: /etag/:id, ${RULE_TIMES} }`];
}

async function warm(sidecache: RunningSidecache, agent: Agent, path: (i: number) => string): Promise<void> {
  let non200 = 0;
  const warmed = await runPool(URLS, WARM_CONCURRENCY, Date.now() + WARM_BUDGET_MS, async (i) => {
    if ((await timedGet(agent, `${sidecache.url}${path(i)}`)).status !== 200) non200 += 1;
  });
  if (warmed.timedOut || non200 > 0) throw new Error(`8: warming ${URLS} URLs failed (${non200} non-200, timed out: ${warmed.timedOut})`);
}

const delta = (after: Record<string, number>, before: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
};

function phase(t: Timeline, from: number, to: number, metricsFrom: PromSample[], metricsTo: PromSample[]): PhaseFigures {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok2xx = 0;
  for (let i = 0; i < t.sentAtMs.length; i++) {
    const at = t.sentAtMs[i]!;
    if (at < from || at >= to) continue;
    const status = t.status[i]!;
    latencies.push(t.latencyMs[i]!);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) ok2xx += 1;
  }
  const errors = t.errorsAtMs.filter((at) => at >= from && at < to).length;
  const { p50, p99 } = summarize(latencies);
  return {
    responses: latencies.length,
    ok2xx,
    errors,
    statuses,
    p50,
    p99,
    max: latencies.reduce((m, v) => Math.max(m, v), 0),
    cache: delta(promBy(metricsTo, 'sidecache_requests_total', 'cache'), promBy(metricsFrom, 'sidecache_requests_total', 'cache')),
    staleReasons: delta(promBy(metricsTo, 'sidecache_stale_served_total', 'reason'), promBy(metricsFrom, 'sidecache_stale_served_total', 'reason')),
  };
}

/** (a): origin SIGKILLed by PID at BEFORE_S for OUTAGE_S, then started again on its port. */
async function drill(log: (message: string) => void): Promise<DrillResult> {
  const port = await freePort();
  let origin: Running = await startOrigin('origin-drill', port);
  let sidecache: RunningSidecache | undefined;
  const agent = new Agent({ connections: WARM_CONCURRENCY });
  try {
    sidecache = await startSidecache({ name: 'sidecache-drill', upstreamUrl: origin.url, rules: rules(), protection: PROTECTION });
    const admin = `http://127.0.0.1:${sidecache.adminPort}`;
    const run = randomSuffix();
    const path = (i: number) => `/bench/plain/${run}-${i}`;
    await warm(sidecache, agent, path);
    const random = mulberry32(0x0d7a6e);
    const warmLoad = await cannonTimeline({ url: sidecache.url, path: () => path(Math.floor(random() * URLS)), seconds: DRILL_WARMUP_S, connections: DRILL_CONNECTIONS });
    if (warmLoad.summary.errors + warmLoad.summary.non2xx > 0) throw new Error(`8a: warm-up load had ${warmLoad.summary.errors} errors, ${warmLoad.summary.non2xx} non-2xx`);
    await control(agent, `${origin.url}/__reset`, 'POST');

    let killedAtMs = Number.NaN;
    let restartedAtMs = Number.NaN;
    let upstreamCallsBeforeKill = 0;
    const marks: { start?: PromSample[]; kill?: PromSample[]; restart?: PromSample[] } = {};
    marks.start = await scrapeMetrics(admin);
    let chaos: Promise<void> = Promise.resolve();
    const timeline = await cannonTimeline(
      { url: sidecache.url, path: () => path(Math.floor(random() * URLS)), seconds: BEFORE_S + OUTAGE_S + AFTER_S, connections: DRILL_CONNECTIONS, timeoutS: REQUEST_TIMEOUT_S },
      (origin0) => {
        chaos = (async () => {
          await sleep(BEFORE_S * 1000);
          // Read the count, then kill at once: only calls in the next moment go uncounted.
          upstreamCallsBeforeKill = (await originCounts(agent, origin)).calls;
          await killChild(origin.child);
          killedAtMs = performance.now() - origin0;
          log(`8a origin killed (pid ${origin.child.pid}) at ${(killedAtMs / 1000).toFixed(1)} s`);
          marks.kill = await scrapeMetrics(admin);
          await sleep(Math.max(0, (BEFORE_S + OUTAGE_S) * 1000 - (performance.now() - origin0)));
          origin = await startOrigin('origin-drill', port);
          restartedAtMs = performance.now() - origin0;
          log(`8a origin restarted (pid ${origin.child.pid}) at ${(restartedAtMs / 1000).toFixed(1)} s`);
          marks.restart = await scrapeMetrics(admin);
        })();
        chaos.catch(() => undefined);
      },
    );
    await chaos;
    const end = await scrapeMetrics(admin);
    const upstreamCallsAfterRestart = (await originCounts(agent, origin)).calls;
    const runMs = timeline.summary.seconds * 1000;
    const m = { start: marks.start, kill: marks.kill ?? marks.start, restart: marks.restart ?? end };
    return {
      killedAtMs,
      restartedAtMs,
      runS: timeline.summary.seconds,
      summary: timeline.summary,
      phases: {
        before: phase(timeline, 0, killedAtMs, m.start, m.kill),
        outage: phase(timeline, killedAtMs, restartedAtMs, m.kill, m.restart),
        after: phase(timeline, restartedAtMs, runMs + 60_000, m.restart, end),
      },
      clientResponses: timeline.status.length,
      upstreamCalls: upstreamCallsBeforeKill + upstreamCallsAfterRestart,
      upstreamCallsBeforeKill,
      upstreamCallsAfterRestart,
      breakerOpens: promSum(end, 'sidecache_upstream_circuit_opens_total') - promSum(m.start, 'sidecache_upstream_circuit_opens_total'),
    };
  } finally {
    await agent.close();
    if (sidecache !== undefined) await stopChild(sidecache.child);
    await stopChild(origin.child);
  }
}

/** (b): the same load over ETag URLs and over URLs without validators, one after the other. */
async function revalidation(): Promise<{ etag: RevalidationRun; plain: RevalidationRun }> {
  const origin = await startOrigin('origin-etag');
  let sidecache: RunningSidecache | undefined;
  const agent = new Agent({ connections: WARM_CONCURRENCY });
  try {
    sidecache = await startSidecache({ name: 'sidecache-revalidation', upstreamUrl: origin.url, rules: rules(), protection: PROTECTION });
    const admin = `http://127.0.0.1:${sidecache.adminPort}`;
    const once = async (family: 'etag' | 'plain'): Promise<RevalidationRun> => {
      const run = randomSuffix();
      const random = mulberry32(0x7e7a6);
      await control(agent, `${origin.url}/__reset`, 'POST');
      const before = await scrapeMetrics(admin);
      // Cold: the first request for each URL is a miss in both runs; the bytes include that fill.
      const t = await cannonTimeline({
        url: sidecache!.url,
        path: () => `/bench/${family}/${run}-${Math.floor(random() * URLS)}`,
        seconds: REVALIDATION_S,
        connections: REVALIDATION_CONNECTIONS,
      });
      const after = await scrapeMetrics(admin);
      const counts = await originCounts(agent, origin);
      const outcomes = delta(promBy(after, 'sidecache_requests_total', 'cache'), promBy(before, 'sidecache_requests_total', 'cache'));
      return {
        family,
        clientResponses: t.status.length,
        non2xx: t.summary.non2xx + t.summary.errors,
        calls: counts.calls,
        ok: counts.ok,
        notModified: counts.notModified,
        bodyBytes: counts.bodyBytes,
        outcomes,
      };
    };
    const plain = await once('plain');
    const etag = await once('etag');
    return { etag, plain };
  } finally {
    await agent.close();
    if (sidecache !== undefined) await stopChild(sidecache.child);
    await stopChild(origin.child);
  }
}

/** A percentage; 3 decimals when it is just short of 100%, so 99.99% never prints as 100.0%. */
function pct(n: number, d: number): string {
  const value = (100 * n) / Math.max(1, d);
  return `${value.toFixed(value > 99.9 && n !== d ? 3 : 1)}%`;
}
const counts = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${int(v)}`)
    .join(' ') || '-';

function drillRows(d: DrillResult): Row[] {
  const { before, outage, after } = d.phases;
  const outageTotal = outage.responses + outage.errors;
  const saved = 1 - d.upstreamCalls / Math.max(1, d.clientResponses);
  return [
    {
      scenario: S,
      metric: `(a) ${DRILL_CONNECTIONS} conns, ${int(URLS)} cached URLs, ${d.runS.toFixed(0)} s; origin killed ${(d.killedAtMs / 1000).toFixed(1)}-${(d.restartedAtMs / 1000).toFixed(1)} s`,
      value: `${int(d.clientResponses)} responses (${int(d.summary.rps)}/s)`,
    },
    {
      scenario: S,
      metric: `(a) availability during the outage (2xx / all, n=${int(outageTotal)})`,
      value: `${pct(outage.ok2xx, outageTotal)} (${int(outageTotal - outage.ok2xx)} not 2xx)`,
      target: '100%',
      pass: outageTotal > 0 && outage.ok2xx === outageTotal,
    },
    {
      scenario: S,
      metric: '(a) 2xx before | after restart',
      value: `${pct(before.ok2xx, before.responses + before.errors)} | ${pct(after.ok2xx, after.responses + after.errors)}`,
      target: '100%',
      pass: before.ok2xx === before.responses + before.errors && after.ok2xx === after.responses + after.errors,
    },
    { scenario: S, metric: '(a) p50 / p99 / max during the outage', value: `${ms(outage.p50)} / ${ms(outage.p99)} / ${ms(outage.max)}` },
    { scenario: S, metric: '(a) p50 / p99 before | after restart', value: `${ms(before.p50)} / ${ms(before.p99)} | ${ms(after.p50)} / ${ms(after.p99)}` },
    { scenario: S, metric: '(a) x-cache before', value: counts(before.cache) },
    { scenario: S, metric: '(a) x-cache during the outage', value: counts(outage.cache) },
    { scenario: S, metric: '(a) stale served during the outage, by reason', value: counts(outage.staleReasons) },
    { scenario: S, metric: '(a) x-cache after restart', value: counts(after.cache) },
    { scenario: S, metric: '(a) breaker opens during the run', value: int(d.breakerOpens) },
    {
      scenario: S,
      metric: '(a) origin calls (before kill + after restart) / client responses',
      value: `${int(d.upstreamCallsBeforeKill)} + ${int(d.upstreamCallsAfterRestart)} = ${int(d.upstreamCalls)} / ${int(d.clientResponses)}`,
    },
    { scenario: S, metric: '(a) upstream calls saved vs no cache, whole run', value: `${(100 * saved).toFixed(2)}%` },
  ];
}

function revalidationRows(r: { etag: RevalidationRun; plain: RevalidationRun }): Row[] {
  const line = (x: RevalidationRun) =>
    `${int(x.calls)} calls (${int(x.ok)} × 200, ${int(x.notModified)} × 304), ${mb(x.bodyBytes)} for ${int(x.clientResponses)} responses`;
  return [
    { scenario: S, metric: `(b) ${REVALIDATION_S} s, ${REVALIDATION_CONNECTIONS} conns, ${int(URLS)} URLs cold, ttl 3 s: no validators`, value: line(r.plain) },
    { scenario: S, metric: '(b) same with ETag + If-None-Match', value: line(r.etag) },
    { scenario: S, metric: '(b) x-cache etag | plain', value: `${counts(r.etag.outcomes)} | ${counts(r.plain.outcomes)}` },
    {
      scenario: S,
      metric: `(b) origin body bytes beyond the cold fill (${int(URLS)} × ${BODY_BYTES} B), etag | plain`,
      value: `${mb(r.etag.bodyBytes - URLS * BODY_BYTES)} | ${mb(r.plain.bodyBytes - URLS * BODY_BYTES)}`,
    },
    {
      scenario: S,
      metric: '(b) origin body bytes per client response, etag | plain',
      value: `${(r.etag.bodyBytes / Math.max(1, r.etag.clientResponses)).toFixed(1)} B | ${(r.plain.bodyBytes / Math.max(1, r.plain.clientResponses)).toFixed(1)} B`,
    },
    {
      scenario: S,
      metric: '(b) origin body bytes, etag / plain',
      value: (r.etag.bodyBytes / Math.max(1, r.plain.bodyBytes)).toFixed(3),
      target: '< 1',
      pass: r.etag.bodyBytes < r.plain.bodyBytes,
    },
    {
      scenario: S,
      metric: '(b) client errors + non-2xx etag | plain',
      value: `${int(r.etag.non2xx)} | ${int(r.plain.non2xx)}`,
      target: '0',
      pass: r.etag.non2xx + r.plain.non2xx === 0,
    },
  ];
}

/** Scenario 8, the parts selected (BENCH_ONLY=8, or e.g. 8a). */
export async function outage(parts: Parts, log: (message: string) => void): Promise<{ rows: Row[]; result: OutageScenarioResult }> {
  const result: OutageScenarioResult = {};
  const rows: Row[] = [];
  if (parts.a) {
    log(`8a outage drill: ${BEFORE_S + OUTAGE_S + AFTER_S} s at ${DRILL_CONNECTIONS} conns, origin killed for ${OUTAGE_S} s after ${BEFORE_S} s`);
    result.drill = await drill(log);
    rows.push(...drillRows(result.drill));
  }
  if (parts.b) {
    log(`8b revalidation: ${REVALIDATION_S} s without validators, then ${REVALIDATION_S} s with ETag`);
    result.revalidation = await revalidation();
    rows.push(...revalidationRows(result.revalidation));
  }
  return { rows, result };
}
