import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { stopChild } from '../lib/children.js';
import { control, runPool, timedGet } from '../lib/http.js';
import { collectGarbage, INSPECTABLE_NODE_ARGS } from '../lib/inspector-gc.js';
import { readRssBytes } from '../lib/proc.js';
import { promSum, scrapeMetrics, type PromSample } from '../lib/prom.js';
import { startSidecache, type Running } from '../lib/servers.js';
import { int, mb, type Row } from '../lib/table.js';

const ENTRIES = 100_000;
const CONCURRENCY = 64;
const FILL_BUDGET_MS = 100_000;
const SAMPLE = 1000;
// Idle time before a second RSS reading, long enough for V8's memory reducer to run a GC.
const SETTLE_MS = 10_000;
// The 100k entries count about 4.0 KB each (entrySize), so at 256 MB the bound evicts a third;
// BENCH_MEMORY_MAX_MB=400 holds them all.
const MAX_BYTES = Number(process.env['BENCH_MEMORY_MAX_MB'] ?? 256) * 1024 * 1024;
const MAX_ENTRIES = 200_000;
// What the heap may hold beyond the bound after a full GC: entrySize is within 15 % of V8's heap
// for live entries (test/unit/cache/entry-size.test.ts).
const HELD_FACTOR = 1.15;

/** V8's heap in use plus memory outside it (bodies), from the child's own process metrics. */
function heldBytes(samples: readonly PromSample[]): number {
  return promSum(samples, 'sidecache_nodejs_heap_size_used_bytes') + promSum(samples, 'sidecache_nodejs_external_memory_bytes');
}

export interface MemoryBoundResult {
  readonly attempted: number;
  readonly fillTimedOut: boolean;
  readonly fillSeconds: number;
  readonly fillNon200: number;
  readonly upstreamCalls: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly rssSettled: number;
  readonly boundBytes: number;
  readonly sampleHits: number;
  readonly resident: number;
  readonly countedBytes: number;
}

/**
 * Scenario 4: what a fresh sidecache holds after 100k distinct 2 KB entries, each fetched then hit
 * once, against its byte bound: V8's heap used plus external memory after a full GC, and RSS.
 */
export async function memoryBound(upstream: Running): Promise<{ rows: Row[]; result: MemoryBoundResult }> {
  const sidecache = await startSidecache({
    name: 'sidecache-memory',
    upstreamUrl: upstream.url,
    maxBytes: `${MAX_BYTES / 1024 / 1024}MB`,
    maxEntries: MAX_ENTRIES,
    nodeArgs: INSPECTABLE_NODE_ARGS,
  });
  const pool = new Agent({ connections: CONCURRENCY });
  try {
    const run = randomUUID().slice(0, 8);
    const url = (i: number) => `${sidecache.url}/bench/items/fill-${run}-${i}`;
    await sleep(500);
    const admin = `http://127.0.0.1:${sidecache.adminPort}`;
    const rssBefore = await readRssBytes(sidecache.child.pid);
    await collectGarbage(sidecache.child);
    const heldBefore = heldBytes(await scrapeMetrics(admin));
    await control(pool, `${upstream.url}/__reset`, 'POST');

    let fillNon200 = 0;
    const started = Date.now();
    // Each URL twice, a miss then a hit: a hit prepares the entry's head and wire, the most an
    // entry costs (entrySize counts it).
    const fill = await runPool(ENTRIES, CONCURRENCY, started + FILL_BUDGET_MS, async (i) => {
      for (let n = 0; n < 2; n++) if ((await timedGet(pool, url(i))).status !== 200) fillNon200 += 1;
    });
    const fillSeconds = (Date.now() - started) / 1000;
    const rssAfter = await readRssBytes(sidecache.child.pid);
    const { count: upstreamCalls } = (await control(pool, `${upstream.url}/__count`)) as { count: number };
    await sleep(SETTLE_MS);
    const rssSettled = await readRssBytes(sidecache.child.pid);
    await collectGarbage(sidecache.child);
    const metrics = await scrapeMetrics(admin);
    const heldAfter = heldBytes(metrics);
    const resident = promSum(metrics, 'sidecache_cache_entries', { tier: 'memory' });
    const counted = promSum(metrics, 'sidecache_cache_bytes', { tier: 'memory' });

    // The newest ids: the bound evicts the least recently used, so these must all be held.
    const sampled = Math.min(SAMPLE, fill.attempted);
    let sampleHits = 0;
    for (let i = fill.attempted - sampled; i < fill.attempted; i++) {
      if ((await timedGet(pool, url(i))).xCache === 'HIT') sampleHits += 1;
    }

    const s = '4 memory bound';
    const rows: Row[] = [
      { scenario: s, metric: 'entries attempted (2 KB each, each fetched then hit once)', value: int(fill.attempted), target: int(ENTRIES), pass: fill.attempted === ENTRIES && !fill.timedOut },
      { scenario: s, metric: 'fill time / non-200 / upstream calls', value: `${fillSeconds.toFixed(1)} s / ${fillNon200} / ${int(upstreamCalls)}` },
      { scenario: s, metric: 'entries held by the memory tier; bytes it counts (entrySize)', value: `${int(resident)}; ${mb(counted)}` },
      { scenario: s, metric: 'RSS before fill', value: mb(rssBefore) },
      { scenario: s, metric: 'RSS after fill', value: mb(rssAfter) },
      { scenario: s, metric: 'RSS growth', value: mb(rssAfter - rssBefore) },
      { scenario: s, metric: `RSS after ${SETTLE_MS / 1000} s idle`, value: mb(rssSettled) },
      { scenario: s, metric: 'configured memory.maxBytes', value: mb(MAX_BYTES) },
      { scenario: s, metric: 'RSS after / bound', value: (rssAfter / MAX_BYTES).toFixed(2) },
      { scenario: s, metric: 'RSS growth / bound (with V8 heap reserve and free allocator pages)', value: ((rssAfter - rssBefore) / MAX_BYTES).toFixed(2) },
      { scenario: s, metric: 'V8 heap used + external growth after a full GC (live data)', value: mb(heldAfter - heldBefore) },
      { scenario: s, metric: 'heap used + external growth / bound', value: ((heldAfter - heldBefore) / MAX_BYTES).toFixed(2), target: `<= ${HELD_FACTOR.toFixed(2)}`, pass: heldAfter - heldBefore <= HELD_FACTOR * MAX_BYTES },
      { scenario: s, metric: `HIT among the newest ${sampled} ids`, value: `${sampleHits} / ${sampled}`, target: 'all', pass: sampleHits === sampled },
    ];
    return {
      rows,
      result: { attempted: fill.attempted, fillTimedOut: fill.timedOut, fillSeconds, fillNon200, upstreamCalls, rssBefore, rssAfter, rssSettled, boundBytes: MAX_BYTES, sampleHits, resident, countedBytes: counted },
    };
  } finally {
    await pool.close();
    await stopChild(sidecache.child);
  }
}
