/**
 * In-process probe for scenario 7a: the cost of one tag invalidation, and of the lazy rejection
 * that follows it, with N synthetic entries in a memory tier (N = 10k and 1M). Filling a child
 * with 1M entries over HTTP would take minutes on a 2-core box, so the engine sidecache runs
 * (EpochTable + Invalidator + TierStack + MemoryTier from the build under test, SIDECACHE_SRC)
 * is driven directly here, in a process of its own that the bench kills by PID.
 *
 * Env: SIDECACHE_SRC (the built src/ dir), SIZES ("10000,1000000"), INVALIDATIONS (200),
 * BASE_EPOCHS (3000), LOOKUPS (20000). Prints one JSON line with the results; progress on stderr.
 * Run with --expose-gc so each size is measured after a full collection.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CacheEntry } from '../../src/cache/entry.js';

type EpochsModule = typeof import('../../src/invalidation/epochs.js');
type InvalidatorModule = typeof import('../../src/invalidation/invalidator.js');
type StackModule = typeof import('../../src/cache/stack.js');
type MemoryModule = typeof import('../../src/cache/tiers/memory.js');

const srcDir = process.env['SIDECACHE_SRC'];
if (srcDir === undefined || srcDir === '') throw new Error('SIDECACHE_SRC is not set');
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(srcDir, path)).href)) as T;
const { EpochTable } = await load<EpochsModule>('invalidation/epochs.js');
const { Invalidator } = await load<InvalidatorModule>('invalidation/invalidator.js');
const { TierStack } = await load<StackModule>('cache/stack.js');
const { MemoryTier } = await load<MemoryModule>('cache/tiers/memory.js');

const SIZES = (process.env['SIZES'] ?? '10000,1000000').split(',').map(Number);
const INVALIDATIONS = Number(process.env['INVALIDATIONS'] ?? 200);
const BASE_EPOCHS = Number(process.env['BASE_EPOCHS'] ?? 3000);
const LOOKUPS = Number(process.env['LOOKUPS'] ?? 20_000);
/** Entries are spread over this many `grp:<n>` tags; invalidating one reaches N / GROUPS entries. */
const GROUPS = 1000;
const WARMUP_INVALIDATIONS = 200;
/** Look-ups before the timed ones, so the read path is compiled (JIT) as in a long-running process. */
const WARMUP_LOOKUPS = 50_000;
/** Groups invalidated only to warm the rejection path (taken from the end of the group range). */
const WARMUP_GROUPS = 100;

const BODY = Buffer.alloc(2048, 0x61); // shared: the probe measures bookkeeping, not body memory
const HEADERS = Object.freeze({ 'content-type': 'application/json', etag: '"bench"' });
const silentLog = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined } as never;

const gc = (globalThis as { gc?: () => void }).gc;
const log = (message: string) => process.stderr.write(`[probe] ${message}\n`);

interface Dist {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  n: number;
}

function dist(samples: number[]): Dist {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN, mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length), n: samples.length };
}

const keyOf = (i: number) => `bench:v1:${i.toString(16).padStart(56, '0')}`;

async function measure(entries: number) {
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const epochs = new EpochTable();
  const memory = new MemoryTier({ maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: entries }, now);
  const stack = new TierStack({ memory, now, isCurrent: (entry) => epochs.isCurrent(entry) });
  const invalidator = new Invalidator({ epochs, stack, bus: null, database: null, now, log: silentLog });

  const fillStarted = performance.now();
  const storedAt = clock - 1_000;
  for (let i = 0; i < entries; i++) {
    const group = i % GROUPS;
    const entry: CacheEntry = {
      key: keyOf(i),
      upstream: 'bench',
      path: `/items/${group}/${i}`,
      status: 200,
      headers: HEADERS,
      body: BODY,
      storedAt,
      expiresAt: clock + 3_600_000,
      staleUntil: clock + 7_200_000,
      tags: [`grp:${group}`, `item:${i}`],
      scope: 'shared',
    };
    memory.put(entry);
  }
  const fillMs = performance.now() - fillStarted;
  if (memory.size().entries !== entries) throw new Error(`memory tier holds ${memory.size().entries} of ${entries}`);

  // Entries of invalidated groups (rejected on read, then dropped) and of untouched groups (hits).
  const perGroup = Math.ceil(entries / GROUPS);
  /** Up to `count` keys of groups [from, from + groups), row by row (entry i is in group i % GROUPS). */
  const pick = (from: number, groups: number, count: number): string[] => {
    const keys: string[] = [];
    for (let k = 0; keys.length < count && k < groups * perGroup; k++) {
      const i = from + (k % groups) + GROUPS * Math.floor(k / groups);
      if (i < entries) keys.push(keyOf(i));
    }
    return keys;
  };
  const timedLookups = (keys: readonly string[]) => {
    const ns: number[] = [];
    let served = 0;
    for (const key of keys) {
      const started = process.hrtime.bigint();
      const hit = stack.peekMemory(key);
      ns.push(Number(process.hrtime.bigint() - started));
      if (hit !== undefined) served += 1;
    }
    return { ns, served };
  };
  const batchLookups = (keys: readonly string[]) => {
    let served = 0;
    const started = process.hrtime.bigint();
    for (const key of keys) if (stack.peekMemory(key) !== undefined) served += 1;
    return { meanNs: Number(process.hrtime.bigint() - started) / Math.max(1, keys.length), served };
  };
  const hitKeys = pick(GROUPS / 2, GROUPS / 2 - WARMUP_GROUPS, LOOKUPS);
  const warmHits = () => {
    for (let k = 0; k < WARMUP_LOOKUPS; k += hitKeys.length) batchLookups(hitKeys.slice(0, WARMUP_LOOKUPS - k));
  };
  // The hit path with an empty epoch table (nothing ever invalidated), for comparison.
  warmHits();
  const hitNoEpochs = batchLookups(hitKeys);

  // A table that has seen a few thousand invalidations, none of them reaching these entries, and
  // some prefix epochs so every look-up also walks its path's ancestors.
  const other = Array.from({ length: BASE_EPOCHS }, (_, j) => `tag:other:${j}`);
  const prefixes = Array.from({ length: 20 }, (_, j) => `path:bench:/elsewhere/${j}`);
  epochs.bump([...other, ...prefixes], clock - 2_000);
  gc?.();
  const heapMB = process.memoryUsage().heapUsed / 1024 / 1024;

  for (let j = 0; j < WARMUP_INVALIDATIONS; j++) {
    clock += 1;
    await invalidator.invalidate({ tags: [j < WARMUP_GROUPS ? `grp:${GROUPS - 1 - j}` : `warm:${j}`] }, 'admin');
  }
  const invalidateUs: number[] = [];
  for (let j = 0; j < INVALIDATIONS; j++) {
    clock += 1;
    const started = process.hrtime.bigint();
    await invalidator.invalidate({ tags: [`grp:${j % GROUPS}`] }, 'admin');
    invalidateUs.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  const epochsAfter = epochs.size;

  // Each rejected key is looked up once: the first read after the invalidation is the one that pays.
  const rejectedKeys = pick(0, Math.min(INVALIDATIONS, GROUPS), LOOKUPS);
  // Warm both paths: hits over and over, rejections on the groups invalidated during warm-up.
  warmHits();
  batchLookups(pick(GROUPS - WARMUP_GROUPS, WARMUP_GROUPS, LOOKUPS));
  const rejectHalf = Math.floor(rejectedKeys.length / 2);
  const hitHalf = Math.floor(hitKeys.length / 2);
  const rejectTimed = timedLookups(rejectedKeys.slice(0, rejectHalf));
  const rejectBatch = batchLookups(rejectedKeys.slice(rejectHalf));
  const hitTimed = timedLookups(hitKeys.slice(0, hitHalf));
  const hitBatch = batchLookups(hitKeys.slice(hitHalf));
  const result = {
    entries,
    fillMs,
    heapMB,
    epochsBefore: BASE_EPOCHS + prefixes.length + WARMUP_INVALIDATIONS,
    epochsAfter,
    entriesPerTag: perGroup,
    invalidateUs: dist(invalidateUs),
    rejectLookupNs: { ...dist(rejectTimed.ns), batchMean: rejectBatch.meanNs, n: rejectedKeys.length, served: rejectTimed.served + rejectBatch.served },
    hitLookupNs: { ...dist(hitTimed.ns), batchMean: hitBatch.meanNs, n: hitKeys.length, served: hitTimed.served + hitBatch.served },
    /** Mean hit look-up before any epoch existed (the table's size check returns at once). */
    hitNoEpochsNs: { batchMean: hitNoEpochs.meanNs, n: hitKeys.length, served: hitNoEpochs.served },
    memoryEntriesAfter: memory.size().entries,
  };
  await stack.close();
  return result;
}

const results = [];
for (const entries of SIZES) {
  log(`${entries} entries`);
  results.push(await measure(entries));
  gc?.();
}
process.stdout.write(`${JSON.stringify({ node: process.version, invalidations: INVALIDATIONS, results })}\n`);
