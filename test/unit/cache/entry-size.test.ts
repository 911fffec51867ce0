import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { entrySize, type CacheEntry } from '../../../src/cache/entry.js';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import { preparedHead } from '../../../src/proxy/prepared-head.js';
import { hitWireOf } from '../../../src/server/hit-wire.js';

// The memory tier's byte bound is only a bound if entrySize is what an entry really costs. This
// measures V8's heap around many entries of one shape, each hit once, against the estimate.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ENTRIES = 10_000;
// The body's backing store lives outside the heap; Node adds a small record for each.
const BACKING_STORE_BYTES = 32;
const NAMES = ['content-type', 'etag', 'last-modified', 'cache-control', 'server', 'x-request-id', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'expires', 'x-ratelimit-remaining', 'x-ratelimit-limit', 'content-language', 'x-b3-traceid', 'sforce-limit-info', 'x-atlassian-trace', 'x-arequestid', 'timing-allow-origin', 'x-envoy-upstream-service-time', 'x-one', 'x-two', 'x-three', 'x-four'];

interface Shape {
  readonly fields: number;
  readonly valueLength: number;
  readonly bodyBytes: number;
  readonly tags: number;
}

function entry(i: number, shape: Shape): CacheEntry {
  const headers: Record<string, string> = { date: new Date(1.7e12 + i * 1000).toUTCString() };
  for (let f = 1; f < shape.fields; f++) headers[NAMES[f - 1]!] = `v${i}-${f}`.padEnd(shape.valueLength, 'x');
  const now = Date.now();
  return {
    key: `sidecache:v1:api:${'0123456789abcdef'.repeat(4)}:${i}`,
    upstream: 'api',
    path: `/items/${i}?fields=name,owner`,
    status: 200,
    headers,
    body: Buffer.alloc(shape.bodyBytes, 1),
    storedAt: now,
    expiresAt: now + 3_600_000,
    staleUntil: now + 7_200_000,
    tags: Array.from({ length: shape.tags }, (_, n) => `grp:${n}:${i}`),
    scope: 'shared',
  };
}

/** Bytes per entry in memory (heap growth plus bodies) and as estimated, over ENTRIES entries. */
function measure(shape: Shape): { real: number; estimated: number; held: number } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const tier = new MemoryTier({ maxBytes: 2 ** 31, maxEntries: ENTRIES });
  let estimated = 0;
  let bodies = 0;
  for (let i = 0; i < ENTRIES; i++) {
    const e = entry(i, shape);
    estimated += entrySize(e);
    bodies += e.body.length + BACKING_STORE_BYTES;
    tier.put(e);
    hitWireOf(e.status, preparedHead(e));
  }
  gc();
  const heap = process.memoryUsage().heapUsed - before;
  return { real: (heap + bodies) / ENTRIES, estimated: estimated / ENTRIES, held: [...tier.keys()].length };
}

const SHAPES: readonly Shape[] = [
  { fields: 1, valueLength: 10, bodyBytes: 2048, tags: 0 },
  { fields: 8, valueLength: 30, bodyBytes: 2048, tags: 0 },
  { fields: 12, valueLength: 30, bodyBytes: 100, tags: 0 },
  { fields: 16, valueLength: 60, bodyBytes: 2048, tags: 0 },
  { fields: 24, valueLength: 30, bodyBytes: 2048, tags: 0 },
  { fields: 8, valueLength: 30, bodyBytes: 2048, tags: 8 },
  { fields: 8, valueLength: 200, bodyBytes: 20_000, tags: 2 },
];

for (const shape of SHAPES) {
  t.test(`${shape.fields} fields of ${shape.valueLength} chars, ${shape.bodyBytes} B body, ${shape.tags} tags: estimate within 15 % of V8's heap`, async (t) => {
    const { real, estimated, held } = measure(shape);
    t.equal(held, ENTRIES, 'every entry was held while measuring');
    const ratio = real / estimated;
    t.ok(ratio > 0.85 && ratio < 1.15, `real ${real.toFixed(0)} B / estimated ${estimated.toFixed(0)} B = ${ratio.toFixed(2)}`);
  });
}
