import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { stopChild } from '../lib/children.js';
import { control, runPool, timedGet } from '../lib/http.js';
import { readRssBytes } from '../lib/proc.js';
import { startSidecache, type Running } from '../lib/servers.js';
import { int, mb, type Row } from '../lib/table.js';

const ENTRIES = 100_000;
const CONCURRENCY = 64;
const FILL_BUDGET_MS = 100_000;
const SAMPLE = 1000;
// Idle time before a second RSS reading, long enough for V8's memory reducer to run a GC.
const SETTLE_MS = 10_000;
// BENCH_MEMORY_MAX_MB below ~250 makes the 100k entries overflow the bound and exercises eviction.
const MAX_BYTES = Number(process.env['BENCH_MEMORY_MAX_MB'] ?? 256) * 1024 * 1024;
const MAX_ENTRIES = 200_000;

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
}

/** Scenario 4: RSS of a fresh sidecache after 100k distinct 2 KB entries, against its byte bound. */
export async function memoryBound(upstream: Running): Promise<{ rows: Row[]; result: MemoryBoundResult }> {
  const sidecache = await startSidecache({
    name: 'sidecache-memory',
    upstreamUrl: upstream.url,
    maxBytes: `${MAX_BYTES / 1024 / 1024}MB`,
    maxEntries: MAX_ENTRIES,
  });
  const pool = new Agent({ connections: CONCURRENCY });
  try {
    const run = randomUUID().slice(0, 8);
    const url = (i: number) => `${sidecache.url}/bench/items/fill-${run}-${i}`;
    await sleep(500);
    const rssBefore = await readRssBytes(sidecache.child.pid);
    await control(pool, `${upstream.url}/__reset`, 'POST');

    let fillNon200 = 0;
    const started = Date.now();
    const fill = await runPool(ENTRIES, CONCURRENCY, started + FILL_BUDGET_MS, async (i) => {
      const res = await timedGet(pool, url(i));
      if (res.status !== 200) fillNon200 += 1;
    });
    const fillSeconds = (Date.now() - started) / 1000;
    const rssAfter = await readRssBytes(sidecache.child.pid);
    const { count: upstreamCalls } = (await control(pool, `${upstream.url}/__count`)) as { count: number };
    await sleep(SETTLE_MS);
    const rssSettled = await readRssBytes(sidecache.child.pid);

    // Newest first: a MISS re-stores its entry and evicts the least recently used one, which is
    // then outside the sample instead of a not-yet-sampled older id.
    let sampleHits = 0;
    for (let i = Math.min(SAMPLE, fill.attempted) - 1; i >= 0; i--) {
      if ((await timedGet(pool, url(i))).xCache === 'HIT') sampleHits += 1;
    }

    const s = '4 memory bound';
    const rows: Row[] = [
      { scenario: s, metric: 'entries attempted (2 KB each)', value: int(fill.attempted), target: int(ENTRIES), pass: fill.attempted === ENTRIES && !fill.timedOut },
      { scenario: s, metric: 'fill time / non-200 / upstream calls', value: `${fillSeconds.toFixed(1)} s / ${fillNon200} / ${int(upstreamCalls)}` },
      { scenario: s, metric: 'RSS before fill', value: mb(rssBefore) },
      { scenario: s, metric: 'RSS after fill', value: mb(rssAfter) },
      { scenario: s, metric: 'RSS growth', value: mb(rssAfter - rssBefore) },
      { scenario: s, metric: `RSS after ${SETTLE_MS / 1000} s idle`, value: mb(rssSettled) },
      { scenario: s, metric: 'configured memory.maxBytes', value: mb(MAX_BYTES) },
      { scenario: s, metric: 'RSS after / bound', value: (rssAfter / MAX_BYTES).toFixed(2) },
      { scenario: s, metric: 'RSS growth / bound', value: ((rssAfter - rssBefore) / MAX_BYTES).toFixed(2), target: '<= 1.00', pass: rssAfter - rssBefore <= MAX_BYTES },
      { scenario: s, metric: `HIT among first ${SAMPLE} ids`, value: `${sampleHits} / ${Math.min(SAMPLE, fill.attempted)}` },
    ];
    return {
      rows,
      result: { attempted: fill.attempted, fillTimedOut: fill.timedOut, fillSeconds, fillNon200, upstreamCalls, rssBefore, rssAfter, rssSettled, boundBytes: MAX_BYTES, sampleHits },
    };
  } finally {
    await pool.close();
    await stopChild(sidecache.child);
  }
}
