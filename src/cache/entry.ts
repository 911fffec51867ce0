import type { CacheScope } from '../config/types.js';

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

/** Seconds since the entry was stored (RFC 9111 §5.1 `Age`, measured from our own store time). */
export function ageSeconds(entry: CacheEntry, now: number): number {
  return Math.max(0, Math.floor((now - entry.storedAt) / 1000));
}

/** Whole seconds the entry stays fresh (the `ttl` of RFC 9211 §2.5 `Cache-Status`). */
export function ttlSeconds(entry: CacheEntry, now: number): number {
  return Math.max(0, Math.floor((entry.expiresAt - now) / 1000));
}
