import type { CacheScope } from '../config/types.js';
import { STORED_AGE_FIELD } from '../policy/stored-fields.js';

/** Bumped whenever the stored shape changes, so no tier ever misreads an older entry. */
export const ENTRY_FORMAT_VERSION = 1;

/** Response headers as stored: lower-case names, repeated headers as arrays. */
export type StoredHeaders = Record<string, string | string[]>;

/** One cached response with absolute timestamps (epoch ms), as every tier stores it. */
export interface CacheEntry {
  readonly key: string;
  /** Upstream name (`data_source` in Postgres). */
  readonly upstream: string;
  /** Upstream-relative path and normalised query, for prefix invalidation and listings. */
  readonly path: string;
  readonly status: number;
  readonly headers: StoredHeaders;
  readonly body: Buffer;
  readonly storedAt: number;
  /** Fresh until this instant. */
  readonly expiresAt: number;
  /** Kept (servable as stale) until this instant; >= expiresAt. */
  readonly staleUntil: number;
  readonly tags: readonly string[];
  readonly scope: CacheScope;
}

// What V8 spends on an entry beside its strings and body, measured on Node 20 once a hit has
// prepared its head and wire (test/unit/cache/entry-size.test.ts holds the estimate to the
// measured heap): the entry object, its Buffer's wrapper, lru-cache's slots, the hit's arrays.
const ENTRY_BYTES = 1700;
const FIELD_BYTES = 48;
// Past this many properties V8 keeps an object's fields in a hash table, at about twice the cost.
const FAST_FIELDS = 16;
const HASHED_FIELD_BYTES = 112;
const LIST_ITEM_BYTES = 24;

/**
 * An entry's footprint in a process's memory, as the memory tier's byte bound counts it: its
 * bytes plus V8's overhead. Stored field values count twice, in the entry and in the wire head
 * a hit prepares. An entry never hit costs about 1.4 KB less than this, so the bound errs safe.
 */
export function entrySize(entry: CacheEntry): number {
  let size = ENTRY_BYTES + entry.key.length + entry.path.length + entry.body.length;
  let fields = 0;
  for (const name in entry.headers) {
    const value = entry.headers[name]!;
    fields += 1;
    size += 2 * name.length + (Array.isArray(value) ? value.reduce((n, v) => n + LIST_ITEM_BYTES + 2 * v.length, 0) : 2 * value.length);
  }
  size += fields * (fields > FAST_FIELDS ? HASHED_FIELD_BYTES : FIELD_BYTES);
  for (const tag of entry.tags) size += LIST_ITEM_BYTES + tag.length;
  return size;
}

/** The entry's current age in ms: its age when requested plus the time since (RFC 9111 §4.2.3). */
export function ageMs(entry: CacheEntry, now: number): number {
  const initial = entry.headers[STORED_AGE_FIELD];
  return Math.max(0, (typeof initial === 'string' ? Number(initial) * 1000 || 0 : 0) + now - entry.storedAt);
}

/** Whole seconds of `ageMs`: the `Age` sent with the entry (RFC 9111 §5.1). */
export function ageSeconds(entry: CacheEntry, now: number): number {
  return Math.floor(ageMs(entry, now) / 1000);
}

/** Whole seconds the entry stays fresh (the `ttl` of RFC 9211 §2.5 `Cache-Status`). */
export function ttlSeconds(entry: CacheEntry, now: number): number {
  return Math.max(0, Math.floor((entry.expiresAt - now) / 1000));
}
