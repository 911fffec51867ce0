import { Agent, request } from 'undici';
import { cannonTimeline, combine, type CannonResult } from '../lib/cannon.js';
import { stopChild } from '../lib/children.js';
import { postJson, timedGet } from '../lib/http.js';
import { parseProm, promSum } from '../lib/prom.js';
import { rotatingSlices, sliceTarget, type SliceTarget } from '../lib/slices.js';
import { randomSuffix } from '../lib/services.js';
import { runInvalidationProbe, startBareFastify, startSidecache, type Running, type RunningSidecache } from '../lib/servers.js';
import { summarize } from '../lib/stats.js';
import { int, ms, type Row } from '../lib/table.js';

/**
 * Scenario 7 (issue 5): what invalidation and metrics cost.
 * (a) one tag invalidation with 10k and 100k entries cached, over HTTP (POST /admin/invalidate
 *     on a memory-only child), and with 10k and 1M entries in-process (the same engine driven
 *     directly by bench/servers/invalidation-probe.ts: filling 1M entries over HTTP would take
 *     minutes here), plus the cost of the lazy rejection on the first read after it;
 * (b) memory-hit req/s of the filled child (tagged entries, a few thousand epochs in the table)
 *     against a child with the same epochs and one entry, a plain sidecache child and bare
 *     Fastify, in rotating slices;
 * (c) GET /metrics on the admin listener with 10k and 100k entries cached.
 */

const S = '7 invalidation';
const TOKEN = `bench-${randomSuffix()}`;
const AUTH = { authorization: `Bearer ${TOKEN}` };

const GROUPS = 1000;
const FILL_SMALL = 10_000;
const FILL_LARGE = 100_000;
const FILL_CONCURRENCY = 64;
const FILL_BUDGET_MS = 120_000;
const WARMUP_INVALIDATIONS = 20;
const INVALIDATIONS = 200;
const SCRAPES_SMALL = 20;
const SCRAPES_LARGE = 50;
/** Epochs added before (b), in calls of at most 1000 tags (the admin API's limit). */
const EXTRA_TAG_EPOCHS = 3000;
const PREFIX_EPOCHS = 20;
const SLICE = { warmupS: 2, measureS: 6, slices: 3, connections: 50 } as const;
const PROBE_SIZES = [10_000, 1_000_000];
const TAGGED_RULE = '{ path: /tagged/:g/:id, ttl: 1h, scope: shared, tags: ["grp:{g}", "item:{id}"] }';
const PROBE_TIMEOUT_MS = 90_000;
/** "Does not grow with the cache": p50 at 100x the entries within this factor of p50 at 1x. */
const FLAT_FACTOR = 2;

export interface Parts {
  readonly a: boolean;
  readonly b: boolean;
  readonly c: boolean;
}

interface Dist {
  p50: number;
  p99: number;
  max?: number;
  mean?: number;
  n: number;
}

interface ProbeSize {
  entries: number;
  fillMs: number;
  heapMB: number;
  epochsBefore: number;
  epochsAfter: number;
  entriesPerTag: number;
  invalidateUs: Dist;
  rejectLookupNs: Dist & { batchMean: number; served: number };
  hitLookupNs: Dist & { batchMean: number; served: number };
  hitNoEpochsNs: { batchMean: number; n: number; served: number };
  memoryEntriesAfter: number;
}

export interface HttpInvalidation {
  readonly entries: number;
  /** Client-side round trip of POST /admin/invalidate, ms. */
  readonly clientMs: Dist;
  /** The route's own `tookMs`. */
  readonly serverMs: Dist;
}

export interface ScrapeFigures {
  readonly entries: number;
  readonly ms: Dist;
  readonly bytes: number;
  readonly series: number;
  readonly memoryEntriesGauge: number;
}

export interface InvalidationResult {
  fill?: { entries: number; seconds: number; non200: number; timedOut: boolean };
  http?: HttpInvalidation[];
  probe?: { invalidations: number; results: ProbeSize[] };
  scrapes?: ScrapeFigures[];
  hits?: {
    runs: Record<HitTarget, CannonResult>;
    epochs: number;
    sampleXCache: string | undefined;
    cpuUsPerRequest: Record<HitTarget, number>;
    slices: Record<HitTarget, number[]>;
  };
}

const us = (value: number): string => `${value.toFixed(1)} µs`;
const ns = (value: number): string => `${Math.round(value)} ns`;

/** Entries [from, to) through the proxy, each URL once (autocannon: the lightest client here). */
async function fillTo(sidecache: RunningSidecache, run: string, from: number, to: number, deadline: number) {
  let next = from;
  const seconds = Math.max(1, Math.floor((deadline - Date.now()) / 1000));
  const t = await cannonTimeline({
    url: sidecache.url,
    path: () => {
      const i = next++;
      return `/bench/tagged/${i % GROUPS}/${run}-${i}`;
    },
    seconds,
    connections: FILL_CONCURRENCY,
    maxRequests: to - from,
  });
  const attempted = t.status.length;
  return { attempted, timedOut: attempted < to - from, non2xx: t.summary.non2xx + t.summary.errors };
}

async function invalidations(admin: string, agent: Agent, entries: number, firstGroup: number): Promise<HttpInvalidation> {
  for (let j = 0; j < WARMUP_INVALIDATIONS; j++) await postJson(agent, `${admin}/admin/invalidate`, { tags: [`warm:${entries}:${j}`] }, AUTH);
  const client: number[] = [];
  const server: number[] = [];
  for (let j = 0; j < INVALIDATIONS; j++) {
    const res = await postJson(agent, `${admin}/admin/invalidate`, { tags: [`grp:${(firstGroup + j) % GROUPS}`] }, AUTH);
    client.push(res.ms);
    server.push((res.json as { tookMs: number }).tookMs);
  }
  return { entries, clientMs: summarize(client), serverMs: summarize(server) };
}

async function scrapes(admin: string, agent: Agent, entries: number, count: number): Promise<ScrapeFigures> {
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await request(`${admin}/metrics`, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
    text = await res.body.text();
    times.push(performance.now() - started);
    if (res.statusCode !== 200) throw new Error(`7c: GET /metrics answered ${res.statusCode}`);
  }
  const samples = parseProm(text);
  return {
    entries,
    ms: summarize(times),
    bytes: Buffer.byteLength(text),
    series: samples.length,
    memoryEntriesGauge: promSum(samples, 'sidecache_cache_entries', { tier: 'memory' }),
  };
}

/** Epoch names in the table of a child: `tags` tag invalidations (1000 per call) and `prefixes` prefix ones. */
async function addEpochs(admin: string, agent: Agent, tags: number, prefixes: number, label: string): Promise<void> {
  for (let from = 0; from < tags; from += 1000) {
    const names = Array.from({ length: Math.min(1000, tags - from) }, (_, j) => `${label}:${from + j}`);
    await postJson(agent, `${admin}/admin/invalidate`, { tags: names }, AUTH);
  }
  for (let j = 0; j < prefixes; j++) await postJson(agent, `${admin}/admin/invalidate`, { upstream: 'bench', prefix: `/tagged/elsewhere-${j}` }, AUTH);
}

type HitTarget = 'bare' | 'plain' | 'epochs' | 'full';
const HIT_TARGETS: readonly HitTarget[] = ['bare', 'plain', 'epochs', 'full'];

/**
 * (b): the filled child ("full": 100k tagged entries and a few thousand epochs) against a child
 * with the same epochs and one entry ("epochs"), a plain sidecache (no tags, no epochs) and bare
 * Fastify; same bytes, same load, rotating slices. "epochs" vs "full" separates what the epoch
 * check costs from what a big heap costs.
 */
async function hitThroughput(filled: RunningSidecache, upstream: Running, admin: string, agent: Agent, epochsSoFar: number) {
  // None of these epochs reaches the measured entry; the prefix ones (under the tagged rule, which
  // the admin route requires, in groups no entry has) make every hit also walk its path's ancestors.
  await addEpochs(admin, agent, EXTRA_TAG_EPOCHS, PREFIX_EPOCHS, 'other');
  const epochs = epochsSoFar + EXTRA_TAG_EPOCHS + PREFIX_EPOCHS;
  const hotPath = '/bench/tagged/hot/1';
  await timedGet(agent, `${filled.url}${hotPath}`);
  const sample = await timedGet(agent, `${filled.url}${hotPath}`);

  const plain = await startSidecache({ name: 'sidecache-plain', upstreamUrl: upstream.url });
  const bare = await startBareFastify();
  let epochsOnly: RunningSidecache | undefined;
  try {
    epochsOnly = await startSidecache({ name: 'sidecache-epochs', upstreamUrl: upstream.url, adminToken: TOKEN, rules: [TAGGED_RULE] });
    await addEpochs(`http://127.0.0.1:${epochsOnly.adminPort}`, agent, epochs - PREFIX_EPOCHS, PREFIX_EPOCHS, 'other');
    const targets: Record<HitTarget, SliceTarget> = {
      bare: sliceTarget(`${bare.url}/bench/items/1`, bare.child.pid),
      plain: sliceTarget(`${plain.url}/bench/items/1`, plain.child.pid),
      epochs: sliceTarget(`${epochsOnly.url}${hotPath}`, epochsOnly.child.pid),
      full: sliceTarget(`${filled.url}${hotPath}`, filled.child.pid),
    };
    await timedGet(agent, targets.plain.url);
    await timedGet(agent, targets.epochs.url);
    await rotatingSlices(HIT_TARGETS.map((t) => targets[t]), SLICE);
    const pick = <T>(f: (t: SliceTarget) => T) => Object.fromEntries(HIT_TARGETS.map((t) => [t, f(targets[t])])) as Record<HitTarget, T>;
    const runs = pick((t) => combine(t.runs));
    return {
      runs,
      epochs,
      sampleXCache: sample.xCache,
      cpuUsPerRequest: pick((t) => (t.cpuSeconds * 1e6) / combine(t.runs).total),
      slices: pick((t) => t.runs.map((r) => Math.round(r.rps))),
    };
  } finally {
    await stopChild(bare.child);
    await stopChild(plain.child);
    if (epochsOnly !== undefined) await stopChild(epochsOnly.child);
  }
}

function rows(r: InvalidationResult, coreRatio: number | undefined): Row[] {
  const out: Row[] = [];
  if (r.fill !== undefined) {
    out.push({
      scenario: S,
      metric: `tagged 2 KB entries filled over HTTP (${GROUPS} grp tags), s / errors + non-2xx`,
      value: `${int(r.fill.entries)} in ${r.fill.seconds.toFixed(1)} s / ${r.fill.non200}`,
      target: int(FILL_LARGE),
      pass: r.fill.entries === FILL_LARGE && !r.fill.timedOut,
    });
  }
  for (const h of r.http ?? []) {
    out.push({
      scenario: S,
      metric: `(a) POST /admin/invalidate 1 tag, ${int(h.entries)} entries: client p50 / p99 (n=${h.clientMs.n})`,
      value: `${ms(h.clientMs.p50)} / ${ms(h.clientMs.p99)}`,
    });
    out.push({ scenario: S, metric: `(a)   same, route's tookMs p50 / p99`, value: `${ms(h.serverMs.p50)} / ${ms(h.serverMs.p99)}` });
  }
  if (r.http !== undefined && r.http.length === 2) {
    const [small, large] = r.http as [HttpInvalidation, HttpInvalidation];
    const factor = large.clientMs.p50 / small.clientMs.p50;
    out.push({
      scenario: S,
      metric: `(a) HTTP p50 at ${int(large.entries)} / at ${int(small.entries)} entries`,
      value: factor.toFixed(2),
      target: `<= ${FLAT_FACTOR}`,
      pass: factor <= FLAT_FACTOR,
    });
  }
  const probe = r.probe?.results ?? [];
  for (const p of probe) {
    out.push({
      scenario: S,
      metric: `(a) in-process invalidate() 1 tag, ${int(p.entries)} entries (${int(p.entriesPerTag)} per tag): p50 / p99 / max (n=${p.invalidateUs.n})`,
      value: `${us(p.invalidateUs.p50)} / ${us(p.invalidateUs.p99)} / ${us(p.invalidateUs.max ?? Number.NaN)}`,
    });
    out.push({
      scenario: S,
      metric: `(a)   memory read, mean: rejected by epoch (1st read after) | hit, ${int(p.epochsAfter)} epochs | hit, table empty`,
      value: `${ns(p.rejectLookupNs.batchMean)} | ${ns(p.hitLookupNs.batchMean)} | ${ns(p.hitNoEpochsNs.batchMean)}`,
    });
    out.push({
      scenario: S,
      metric: `(a)   memory read p50 / p99, timed one by one: rejected | hit`,
      value: `${ns(p.rejectLookupNs.p50)} / ${ns(p.rejectLookupNs.p99)} | ${ns(p.hitLookupNs.p50)} / ${ns(p.hitLookupNs.p99)}`,
    });
    out.push({
      scenario: S,
      metric: `(a)   look-ups rejected / served (expected 0 / all); fill ${(p.fillMs / 1000).toFixed(1)} s, heap ${p.heapMB.toFixed(0)} MB`,
      value: `${int(p.rejectLookupNs.served)} of ${int(p.rejectLookupNs.n)} / ${int(p.hitLookupNs.served)} of ${int(p.hitLookupNs.n)}`,
      target: '0 / all',
      pass: p.rejectLookupNs.served === 0 && p.hitLookupNs.served === p.hitLookupNs.n,
    });
  }
  if (probe.length === 2) {
    const [small, large] = probe as [ProbeSize, ProbeSize];
    const factor = large.invalidateUs.p50 / small.invalidateUs.p50;
    out.push({
      scenario: S,
      metric: `(a) in-process p50 at ${int(large.entries)} / at ${int(small.entries)} entries`,
      value: factor.toFixed(2),
      target: `<= ${FLAT_FACTOR}`,
      pass: factor <= FLAT_FACTOR,
    });
  }
  const h = r.hits;
  if (h !== undefined) {
    const { bare, plain, epochs, full } = h.runs;
    const all = (f: (t: HitTarget) => string) => HIT_TARGETS.map(f).join(' | ');
    const failures = HIT_TARGETS.reduce((n, t) => n + h.runs[t].errors + h.runs[t].non2xx, 0);
    out.push(
      {
        scenario: S,
        metric: `(b) memory-hit req/s bare | plain | ${int(h.epochs)} epochs | + ${int(FILL_LARGE)} tagged entries`,
        value: all((t) => int(h.runs[t].rps)),
      },
      { scenario: S, metric: '(b) req/s per slice, same order', value: all((t) => h.slices[t].join(' ')) },
      { scenario: S, metric: '(b) server CPU per request, same order', value: all((t) => `${h.cpuUsPerRequest[t].toFixed(1)} µs`) },
      { scenario: S, metric: '(b) p50 / worst p99, same order', value: all((t) => `${ms(h.runs[t].p50)} / ${ms(h.runs[t].p99)}`) },
      { scenario: S, metric: '(b) sample x-cache (filled child)', value: h.sampleXCache ?? '-', target: 'HIT', pass: h.sampleXCache === 'HIT' },
      { scenario: S, metric: '(b) errors + non-2xx (all four)', value: int(failures), target: '0', pass: failures === 0 },
      {
        scenario: S,
        metric: `(b) ratio to bare: plain | epochs | full${coreRatio === undefined ? '' : ' | scenario 1 this run'}`,
        value: `${[plain, epochs, full].map((x) => (x.rps / bare.rps).toFixed(3)).join(' | ')}${coreRatio === undefined ? '' : ` | ${coreRatio.toFixed(3)}`}`,
      },
      { scenario: S, metric: '(b) req/s vs plain: epochs | full (bookkeeping on)', value: `${(epochs.rps / plain.rps).toFixed(3)} | ${(full.rps / plain.rps).toFixed(3)}` },
    );
  }
  for (const sc of r.scrapes ?? []) {
    out.push({
      scenario: S,
      metric: `(c) GET /metrics, ${int(sc.entries)} entries: p50 / p99 (n=${sc.ms.n}); size, series`,
      value: `${ms(sc.ms.p50)} / ${ms(sc.ms.p99)}; ${(sc.bytes / 1024).toFixed(1)} KB, ${int(sc.series)}`,
    });
    out.push({
      scenario: S,
      metric: `(c)   sidecache_cache_entries{tier="memory"}`,
      value: int(sc.memoryEntriesGauge),
      target: `>= ${int(sc.entries)}`,
      pass: sc.memoryEntriesGauge >= sc.entries,
    });
  }
  return out;
}

/** Scenario 7, the parts selected (BENCH_ONLY=7, or e.g. 7a,7c). */
export async function invalidation(
  upstream: Running,
  parts: Parts,
  log: (message: string) => void,
  coreRatio?: number,
): Promise<{ rows: Row[]; result: InvalidationResult }> {
  const result: InvalidationResult = {};
  if (parts.a || parts.b || parts.c) {
    const sidecache = await startSidecache({
      name: 'sidecache-invalidation',
      upstreamUrl: upstream.url,
      adminToken: TOKEN,
      maxBytes: '512MB',
      maxEntries: 200_000,
      rules: [TAGGED_RULE],
    });
    const admin = `http://127.0.0.1:${sidecache.adminPort}`;
    const agent = new Agent({ connections: 1 });
    try {
      const run = randomSuffix();
      const started = Date.now();
      const deadline = started + FILL_BUDGET_MS;
      log(`7 fill: ${int(FILL_SMALL)} tagged entries`);
      const small = await fillTo(sidecache, run, 0, FILL_SMALL, deadline);
      if (small.timedOut || small.non2xx > 0) throw new Error(`7: fill to ${FILL_SMALL} failed (${small.non2xx} errors or non-2xx, timed out: ${small.timedOut})`);
      result.http = [];
      result.scrapes = [];
      if (parts.a) result.http.push(await invalidations(admin, agent, FILL_SMALL, 0));
      if (parts.c) result.scrapes.push(await scrapes(admin, agent, FILL_SMALL, SCRAPES_SMALL));
      log(`7 fill: to ${int(FILL_LARGE)} entries`);
      const large = await fillTo(sidecache, run, FILL_SMALL, FILL_LARGE, deadline);
      const entries = FILL_SMALL + large.attempted;
      result.fill = { entries, seconds: (Date.now() - started) / 1000, non200: small.non2xx + large.non2xx, timedOut: large.timedOut };
      if (parts.a) result.http.push(await invalidations(admin, agent, entries, INVALIDATIONS));
      if (parts.c) result.scrapes.push(await scrapes(admin, agent, entries, SCRAPES_LARGE));
      if (parts.b) {
        log(`7b memory-hit req/s: bare | plain | epochs only | filled + epochs, ${SLICE.measureS} s each in ${SLICE.slices} rotating slices`);
        const epochsSoFar = parts.a ? 2 * (WARMUP_INVALIDATIONS + INVALIDATIONS) : 0;
        result.hits = await hitThroughput(sidecache, upstream, admin, agent, epochsSoFar);
      }
      if (!parts.a) delete result.http;
      if (!parts.c) delete result.scrapes;
    } finally {
      await agent.close();
      await stopChild(sidecache.child);
    }
  }
  if (parts.a) {
    log(`7a in-process: ${PROBE_SIZES.map(int).join(' and ')} synthetic entries, ${INVALIDATIONS} tag invalidations each`);
    const probe = await runInvalidationProbe({ SIZES: PROBE_SIZES.join(','), INVALIDATIONS: String(INVALIDATIONS), BASE_EPOCHS: String(EXTRA_TAG_EPOCHS) }, PROBE_TIMEOUT_MS);
    result.probe = probe as unknown as { invalidations: number; results: ProbeSize[] };
  }
  return { rows: rows(result, coreRatio), result };
}
