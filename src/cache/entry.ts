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

/** Approximate in-memory footprint, used for byte-bounded tiers. */
export function entrySize(entry: CacheEntry): number {
  let size = 256 + entry.key.length + entry.path.length + entry.body.length;
  for (const name in entry.headers) {
    const value = entry.headers[name]!;
    size += name.length + (Array.isArray(value) ? value.reduce((n, v) => n + v.length + 8, 0) : value.length);
  }
  for (const tag of entry.tags) size += tag.length + 8;
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
