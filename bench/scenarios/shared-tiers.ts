import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { cannon, type CannonResult } from '../lib/cannon.js';
import { stopChild } from '../lib/children.js';
import { control, runPool, timedGet, type Timed } from '../lib/http.js';
import { createBenchSchema, OwnRedis, randomSuffix, REDIS_URL, redisNamespace, type BenchSchema } from '../lib/services.js';
import { startSidecache, type Running, type RunningSidecache, type SidecacheOptions } from '../lib/servers.js';
import { summarize } from '../lib/stats.js';
import { int, ms, type Row } from '../lib/table.js';

/**
 * Scenario 5: hits answered by the shared tiers (memory tier off), a Zipf workload over all
 * three tiers, and Redis stopped and restarted under load. Postgres data lives in a fresh schema
 * of the test database, Redis keys under a random namespace; both are removed at the end.
 * Audit is off in every child here, so only the tiers are measured.
 */

const S = '5 shared tiers';

// (a), (b)
const SEQ_WARMUP = 200;
const SEQ_MEASURED = 2000;
const SEQ_BUDGET_MS = 30_000;
/** A short load first, so the child's hot path is compiled before anything is measured. */
const CANNON_WARMUP_S = 2;
const CANNON_S = 10;
const CANNON_CONNECTIONS = 50;
const VERIFY_SAMPLE = 100;
const WARM_POLL_MS = 5_000;
const TARGET_P50_MS = { redis: 2, postgres: 5 } as const;

// (c)
const ZIPF_URLS = 10_000;
const ZIPF_S = 1.0;
const ZIPF_REQUESTS = 30_000;
const ZIPF_CONCURRENCY = 32;
const ZIPF_MEMORY = '4MB';
const ZIPF_WARM_BUDGET_MS = 60_000;
const ZIPF_RUN_BUDGET_MS = 60_000;

// (d)
const OUTAGE_URLS = 1000;
const OUTAGE_CONCURRENCY = 8;
const OUTAGE_RUN_MS = 20_000;
const OUTAGE_STOP_AT_MS = 5_000;
const OUTAGE_START_AT_MS = 12_000;
const OUTAGE_REQUEST_TIMEOUT_MS = 5_000;
/**
 * After the run, how long /readyz is polled (with one read per poll) for tiers.redis 'up': a tier
 * stays 'degraded' 30 s after its last error (src/cache/guarded-tier.ts DEGRADED_WINDOW_MS).
 */
const OUTAGE_READY_POLL_MS = 30_000;

export interface Parts {
  readonly a: boolean;
  readonly b: boolean;
  readonly c: boolean;
  readonly d: boolean;
}

type Tier = 'redis' | 'postgres';

export interface TierHitResult {
  readonly tier: Tier;
  readonly warmMs: number;
  readonly sequential: { p50: number; p99: number; n: number; tiers: Record<string, number>; non200: number };
  readonly cannon: CannonResult;
  readonly verify: Record<string, number>;
}

export interface ZipfResult {
  readonly urls: number;
  readonly warm: { attempted: number; timedOut: boolean; non200: number; seconds: number };
  readonly requests: number;
  readonly timedOut: boolean;
  readonly seconds: number;
  readonly outcomes: Record<string, number>;
  readonly secondHalf: Record<string, number>;
  readonly upstreamCalls: number;
  readonly p50: number;
  readonly p99: number;
}

export interface OutageResult {
  readonly requests: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly stoppedAtMs: number;
  readonly restartedAtMs: number;
  readonly phases: Record<'before' | 'outage' | 'after', { n: number; p50: number; p99: number; tiers: Record<string, number> }>;
  readonly redisHitsLast5s: number;
  readonly readyzRedisAtEnd: string;
  readonly redisUpAfterRunMs: number | null;
  /** readyz tiers.redis transitions, ms from the start of the run. */
  readonly healthTimeline: readonly { t: number; state: string }[];
}

export interface SharedTiersResult {
  redisHit?: TierHitResult;
  postgresHit?: TierHitResult;
  zipf?: ZipfResult;
  outage?: OutageResult;
}

const label = (r: Timed): string => (r.status !== 200 ? `status-${r.status}` : r.xCache === 'HIT' ? (r.tier ?? 'HIT?') : (r.xCache ?? 'none'));

function tally(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

function shares(counts: Record<string, number>, keys: readonly string[]): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const known = keys.map((k) => {
    const n = counts[k] ?? 0;
    const pct = `${k} ${((100 * n) / Math.max(1, total)).toFixed(1)}%`;
    return n > 0 && n < total / 200 ? `${pct} (${n})` : pct; // small counts are shown exactly
  });
  const other = Object.entries(counts).filter(([k]) => !keys.includes(k));
  return [...known, ...other.map(([k, v]) => `${k}=${v}`)].join(', ');
}

const countsText = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '-';

async function readyz(url: string): Promise<Record<string, unknown>> {
  const res = await request(`${url}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
  return (await res.body.json()) as Record<string, unknown>;
}

async function redisHealth(url: string): Promise<string> {
  try {
    const body = await readyz(url);
    return String((body['tiers'] as Record<string, unknown> | undefined)?.['redis'] ?? 'absent');
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** (a) / (b): one warm 2 KB entry read from Redis (or Postgres) with the memory tier off. */
async function tierHits(tier: Tier, upstream: Running, db: BenchSchema, namespace: string): Promise<TierHitResult> {
  const options: SidecacheOptions = {
    name: `sidecache-${tier}-hit`,
    upstreamUrl: upstream.url,
    memory: false,
    databaseUrl: db.url,
    namespace,
    audit: { enabled: false },
    ...(tier === 'redis' ? { redisUrl: REDIS_URL } : {}),
  };
  const sidecache = await startSidecache(options);
  const agent = new Agent({ connections: 1 });
  try {
    const url = `${sidecache.url}/bench/items/${tier}-hit-${randomSuffix()}`;
    // Warm: one MISS stores the entry; the shared-tier writes are queued, so poll until a read comes from the tier.
    const warmStarted = performance.now();
    const first = await timedGet(agent, url);
    if (first.status !== 200) throw new Error(`5 ${tier}: warm-up request answered ${first.status}`);
    let seen: string | undefined;
    while (performance.now() - warmStarted < WARM_POLL_MS) {
      seen = (await timedGet(agent, url)).tier;
      if (seen === tier) break;
      await sleep(10);
    }
    if (seen !== tier) throw new Error(`5 ${tier}: entry never served by the ${tier} tier within ${WARM_POLL_MS} ms (last x-cache-tier: ${seen ?? 'none'})`);
    const warmMs = performance.now() - warmStarted;

    const warmLoad = await cannon({ url, seconds: CANNON_WARMUP_S, connections: CANNON_CONNECTIONS });
    if (warmLoad.errors + warmLoad.non2xx > 0) throw new Error(`5 ${tier}: warm-up load had ${warmLoad.errors} errors, ${warmLoad.non2xx} non-2xx`);

    // Sequential sample (one keep-alive connection) for sub-ms percentiles.
    const samples: number[] = [];
    const tiers: Record<string, number> = {};
    let non200 = 0;
    const deadline = Date.now() + SEQ_BUDGET_MS;
    for (let i = 0; i < SEQ_WARMUP + SEQ_MEASURED && Date.now() < deadline; i++) {
      const res = await timedGet(agent, url);
      if (i < SEQ_WARMUP) continue;
      samples.push(res.ms);
      tally(tiers, label(res));
      if (res.status !== 200) non200 += 1;
    }

    const loaded = await cannon({ url, seconds: CANNON_S, connections: CANNON_CONNECTIONS });
    const verify: Record<string, number> = {};
    for (let i = 0; i < VERIFY_SAMPLE; i++) tally(verify, label(await timedGet(agent, url)));
    return { tier, warmMs, sequential: { ...summarize(samples), tiers, non200 }, cannon: loaded, verify };
  } finally {
    await agent.close();
    await stopChild(sidecache.child);
  }
}

function tierRows(r: TierHitResult): Row[] {
  const t = r.tier;
  const only = (counts: Record<string, number>) => Object.keys(counts).length === 1 && (counts[t] ?? 0) > 0;
  const where = t === 'redis' ? '(a) redis+pg tiers, memory off' : '(b) pg tier only, memory off';
  return [
    { scenario: S, metric: `${where}: warm until x-cache-tier ${t}`, value: ms(r.warmMs) },
    {
      scenario: S,
      metric: `${t}-hit p50 / p99, sequential (n=${r.sequential.n})`,
      value: `${ms(r.sequential.p50)} / ${ms(r.sequential.p99)}`,
      target: `p50 < ${TARGET_P50_MS[t]} ms`,
      pass: r.sequential.p50 < TARGET_P50_MS[t],
    },
    { scenario: S, metric: `${t}-hit req/s (autocannon ${CANNON_S} s, ${CANNON_CONNECTIONS} conns)`, value: int(r.cannon.rps) },
    {
      scenario: S,
      metric: `${t}-hit p50 / p99 under ${CANNON_CONNECTIONS} conns (1 ms res.)`,
      value: `${ms(r.cannon.p50)} / ${ms(r.cannon.p99)}`,
      // Informational: with 50 requests always in flight, p50 is about 50 / (req/s) whatever the tier costs.
    },
    {
      scenario: S,
      metric: `${t}-hit errors + non-2xx (autocannon + sequential)`,
      value: int(r.cannon.errors + r.cannon.non2xx + r.sequential.non200),
      target: '0',
      pass: r.cannon.errors + r.cannon.non2xx + r.sequential.non200 === 0,
    },
    {
      scenario: S,
      metric: `${t}-hit x-cache-tier: sequential | ${VERIFY_SAMPLE} after load`,
      value: `${countsText(r.sequential.tiers)} | ${countsText(r.verify)}`,
      target: `all ${t}`,
      pass: only(r.sequential.tiers) && only(r.verify),
    },
  ];
}

/** Deterministic PRNG (mulberry32), so every run draws the same Zipf sequence. */
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

/** Ranks 0..n-1 drawn with P(k) ∝ 1 / (k+1)^s. */
function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** (c): 10k URLs with Zipf popularity over a small memory tier + Redis + Postgres. */
async function zipf(upstream: Running, db: BenchSchema, namespace: string): Promise<ZipfResult> {
  const sidecache = await startSidecache({
    name: 'sidecache-zipf',
    upstreamUrl: upstream.url,
    maxBytes: ZIPF_MEMORY,
    redisUrl: REDIS_URL,
    databaseUrl: db.url,
    namespace,
    audit: { enabled: false },
  });
  const pool = new Agent({ connections: ZIPF_CONCURRENCY });
  try {
    const run = randomSuffix();
    const url = (rank: number) => `${sidecache.url}/bench/items/zipf-${run}-${rank}`;
    const random = mulberry32(0x5eed);

    // Warm-up pass: every URL once, in shuffled order, so all of them are in Redis and Postgres.
    const order = Array.from({ length: ZIPF_URLS }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let warmNon200 = 0;
    const warmStarted = Date.now();
    const warm = await runPool(ZIPF_URLS, ZIPF_CONCURRENCY, warmStarted + ZIPF_WARM_BUDGET_MS, async (i) => {
      if ((await timedGet(pool, url(order[i]!))).status !== 200) warmNon200 += 1;
    });
    const warmSeconds = (Date.now() - warmStarted) / 1000;
    await sleep(1_000); // the shared-tier writes of the last misses are queued in the background
    await control(pool, `${upstream.url}/__reset`, 'POST');

    const draw = zipfSampler(ZIPF_URLS, ZIPF_S, random);
    const ranks = Array.from({ length: ZIPF_REQUESTS }, () => draw());
    const outcomes: Record<string, number> = {};
    const secondHalf: Record<string, number> = {};
    const latencies: number[] = [];
    const started = Date.now();
    const result = await runPool(ZIPF_REQUESTS, ZIPF_CONCURRENCY, started + ZIPF_RUN_BUDGET_MS, async (i) => {
      let key: string;
      try {
        const res = await timedGet(pool, url(ranks[i]!));
        latencies.push(res.ms);
        key = label(res);
      } catch {
        key = 'error';
      }
      tally(outcomes, key);
      if (i >= ZIPF_REQUESTS / 2) tally(secondHalf, key);
    });
    const seconds = (Date.now() - started) / 1000;
    const { count: upstreamCalls } = (await control(pool, `${upstream.url}/__count`)) as { count: number };
    return {
      urls: ZIPF_URLS,
      warm: { attempted: warm.attempted, timedOut: warm.timedOut, non200: warmNon200, seconds: warmSeconds },
      requests: result.attempted,
      timedOut: result.timedOut,
      seconds,
      outcomes,
      secondHalf,
      upstreamCalls,
      ...summarize(latencies),
    };
  } finally {
    await pool.close();
    await stopChild(sidecache.child);
  }
}

function zipfRows(r: ZipfResult): Row[] {
  const keys = ['memory', 'redis', 'postgres', 'MISS'];
  return [
    {
      scenario: S,
      metric: `(c) zipf warm-up pass: ${int(r.urls)} URLs, s / non-200`,
      value: `${r.warm.seconds.toFixed(1)} s / ${r.warm.non200}`,
      target: `${int(r.urls)} done`,
      pass: r.warm.attempted === r.urls && !r.warm.timedOut,
    },
    {
      scenario: S,
      metric: `(c) zipf s=${ZIPF_S} requests (conc ${ZIPF_CONCURRENCY}, memory ${ZIPF_MEMORY})`,
      value: `${int(r.requests)} in ${r.seconds.toFixed(1)} s (${int(r.requests / r.seconds)}/s)`,
      target: int(ZIPF_REQUESTS),
      pass: r.requests === ZIPF_REQUESTS && !r.timedOut,
    },
    { scenario: S, metric: '(c) zipf share by x-cache-tier / MISS', value: shares(r.outcomes, keys) },
    { scenario: S, metric: '(c) zipf share, second half of the run', value: shares(r.secondHalf, keys) },
    { scenario: S, metric: '(c) zipf p50 / p99 (per request, conc 32)', value: `${ms(r.p50)} / ${ms(r.p99)}` },
    { scenario: S, metric: '(c) zipf upstream calls during the run', value: int(r.upstreamCalls) },
  ];
}

/** (d): Redis (our own redis-server) stopped at 5 s and started again at 12 s of a 20 s run. */
async function redisOutage(upstream: Running, db: BenchSchema): Promise<OutageResult> {
  const redis = await OwnRedis.start();
  let sidecache: RunningSidecache | undefined;
  const pool = new Agent({ connections: OUTAGE_CONCURRENCY });
  try {
    sidecache = await startSidecache({
      name: 'sidecache-outage',
      upstreamUrl: upstream.url,
      memory: false,
      redisUrl: redis.url,
      databaseUrl: db.url,
      namespace: `bench_${randomSuffix()}`,
      audit: { enabled: false },
    });
    const base = sidecache.url;
    const run = randomSuffix();
    const url = (i: number) => `${base}/bench/items/outage-${run}-${i}`;
    await runPool(OUTAGE_URLS, OUTAGE_CONCURRENCY, Date.now() + 30_000, async (i) => {
      await timedGet(pool, url(i));
    });
    await sleep(500);

    interface Sample {
      readonly t: number;
      readonly ms: number;
      readonly label: string;
    }
    const samples: Sample[] = [];
    const failures: Record<string, number> = {};
    const random = mulberry32(0xdead);
    const started = Date.now();
    let stoppedAtMs = Number.NaN;
    let restartedAtMs = Number.NaN;
    const chaos = (async () => {
      await sleep(OUTAGE_STOP_AT_MS);
      stoppedAtMs = Date.now() - started;
      await redis.stop();
      await sleep(Math.max(0, OUTAGE_START_AT_MS - (Date.now() - started)));
      await redis.start();
      restartedAtMs = Date.now() - started;
    })();
    // /readyz tiers.redis through the run and the poll after it, as transitions.
    const healthTimeline: { t: number; state: string }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const state = await redisHealth(base);
        if (healthTimeline[healthTimeline.length - 1]?.state !== state) healthTimeline.push({ t: Date.now() - started, state });
        await sleep(250);
      }
    })();
    const timeouts = { headersTimeout: OUTAGE_REQUEST_TIMEOUT_MS, bodyTimeout: OUTAGE_REQUEST_TIMEOUT_MS };
    let attempts = 0;
    await runPool(10_000_000, OUTAGE_CONCURRENCY, started + OUTAGE_RUN_MS, async () => {
      const t = Date.now() - started;
      attempts += 1;
      try {
        const res = await timedGet(pool, url(Math.floor(random() * OUTAGE_URLS)), undefined, timeouts);
        const l = label(res);
        samples.push({ t, ms: res.ms, label: l });
        if (res.status !== 200) tally(failures, l);
      } catch (err) {
        tally(failures, err instanceof Error ? err.constructor.name : 'error');
      }
    });
    await chaos;
    if (process.env['BENCH_DEBUG']) process.stderr.write(`--- ${sidecache.child.name} output tail:\n${sidecache.child.stderrTail()}${sidecache.child.stdoutTail()}\n`);
    const readyzRedisAtEnd = await redisHealth(base);
    let redisUpAfterRunMs: number | null = null;
    const pollStarted = Date.now();
    let health = readyzRedisAtEnd;
    while (health !== 'up' && Date.now() - pollStarted < OUTAGE_READY_POLL_MS) {
      await sleep(250);
      // A trickle of reads: a half-open breaker only closes on a successful probe, which needs traffic.
      await timedGet(pool, url(Math.floor(random() * OUTAGE_URLS)), undefined, timeouts).catch(() => undefined);
      health = await redisHealth(base);
    }
    if (health === 'up') redisUpAfterRunMs = Date.now() - pollStarted;
    watching = false;
    await watcher;

    const phase = (from: number, to: number) => {
      const picked = samples.filter((s) => s.t >= from && s.t < to);
      const tiers: Record<string, number> = {};
      for (const s of picked) tally(tiers, s.label);
      return { ...summarize(picked.map((s) => s.ms)), tiers };
    };
    const failed = Object.values(failures).reduce((a, b) => a + b, 0);
    return {
      requests: attempts,
      failed,
      failures,
      stoppedAtMs,
      restartedAtMs,
      phases: { before: phase(0, stoppedAtMs), outage: phase(stoppedAtMs, restartedAtMs), after: phase(restartedAtMs, Infinity) },
      redisHitsLast5s: samples.filter((s) => s.t >= OUTAGE_RUN_MS - 5_000 && s.label === 'redis').length,
      readyzRedisAtEnd,
      redisUpAfterRunMs,
      healthTimeline,
    };
  } finally {
    await pool.close();
    if (sidecache !== undefined) await stopChild(sidecache.child);
    await redis.stop();
  }
}

function outageRows(r: OutageResult): Row[] {
  const p = r.phases;
  const keys = ['redis', 'postgres', 'MISS'];
  return [
    {
      scenario: S,
      metric: `(d) redis stopped ${(r.stoppedAtMs / 1000).toFixed(1)}-${(r.restartedAtMs / 1000).toFixed(1)} s of ${OUTAGE_RUN_MS / 1000} s (memory off, conc ${OUTAGE_CONCURRENCY})`,
      value: `${int(r.requests)} requests`,
    },
    {
      scenario: S,
      metric: '(d) failed requests (errors + non-200)',
      value: r.failed === 0 ? '0' : `${r.failed} (${countsText(r.failures)})`,
      target: '0',
      pass: r.failed === 0,
    },
    { scenario: S, metric: '(d) p50 / p99 before | during outage | after', value: `${ms(p.before.p50)} / ${ms(p.before.p99)} | ${ms(p.outage.p50)} / ${ms(p.outage.p99)} | ${ms(p.after.p50)} / ${ms(p.after.p99)}` },
    { scenario: S, metric: '(d) tiers before', value: shares(p.before.tiers, keys) },
    { scenario: S, metric: '(d) tiers during outage', value: shares(p.outage.tiers, keys) },
    { scenario: S, metric: '(d) tiers after restart', value: shares(p.after.tiers, keys) },
    { scenario: S, metric: '(d) redis hits in the last 5 s', value: int(r.redisHitsLast5s), target: '> 0', pass: r.redisHitsLast5s > 0 },
    // Back and answering, so not `down`; `degraded` is expected for the window after its last error.
    { scenario: S, metric: '(d) readyz tiers.redis at end of run (8 s after Redis is back)', value: r.readyzRedisAtEnd, target: 'up or degraded', pass: r.readyzRedisAtEnd === 'up' || r.readyzRedisAtEnd === 'degraded' },
    {
      scenario: S,
      metric: '(d) readyz tiers.redis timeline (s: state)',
      value: r.healthTimeline.map((h) => `${(h.t / 1000).toFixed(1)}: ${h.state}`).join(', '),
    },
    {
      scenario: S,
      metric: '(d) readyz tiers.redis up, after end of run (4 reads/s)',
      value: r.redisUpAfterRunMs === null ? `not within ${OUTAGE_READY_POLL_MS / 1000} s` : `+${(r.redisUpAfterRunMs / 1000).toFixed(1)} s`,
      target: `within ${OUTAGE_READY_POLL_MS / 1000} s`,
      pass: r.redisUpAfterRunMs !== null,
    },
  ];
}

/** Scenario 5, the parts selected (BENCH_ONLY=5 for all, or e.g. 5a,5d). */
export async function sharedTiers(upstream: Running, parts: Parts, log: (message: string) => void): Promise<{ rows: Row[]; result: SharedTiersResult }> {
  const db = await createBenchSchema();
  const redisNs = redisNamespace();
  const rows: Row[] = [];
  const result: SharedTiersResult = {};
  try {
    if (parts.a) {
      log('5a redis-tier hits (memory tier off)');
      result.redisHit = await tierHits('redis', upstream, db, redisNs.namespace);
      rows.push(...tierRows(result.redisHit));
    }
    if (parts.b) {
      log('5b postgres-tier hits (memory tier off, no redis)');
      result.postgresHit = await tierHits('postgres', upstream, db, redisNs.namespace);
      rows.push(...tierRows(result.postgresHit));
    }
    if (parts.c) {
      log(`5c zipf: ${ZIPF_URLS} URLs, warm-up pass then ${ZIPF_REQUESTS} requests`);
      result.zipf = await zipf(upstream, db, redisNs.namespace);
      rows.push(...zipfRows(result.zipf));
    }
    if (parts.d) {
      log(`5d redis outage: ${OUTAGE_RUN_MS / 1000} s run, redis stopped at ${OUTAGE_STOP_AT_MS / 1000} s, started at ${OUTAGE_START_AT_MS / 1000} s`);
      result.outage = await redisOutage(upstream, db);
      rows.push(...outageRows(result.outage));
    }
  } finally {
    const deleted = await redisNs.cleanup().catch((err: unknown) => {
      log(`WARNING: redis namespace ${redisNs.namespace} cleanup failed: ${String(err)}`);
      return 0;
    });
    await db.drop().catch((err: unknown) => log(`WARNING: schema ${db.schema} drop failed: ${String(err)}`));
    log(`5 cleaned up: schema ${db.schema} dropped, ${deleted} redis keys unlinked`);
  }
  return { rows, result };
}
