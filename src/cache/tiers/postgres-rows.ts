import type { CacheScope } from '../../config/types.js';
import type { CacheEntry } from '../entry.js';

/** The `api_cache` columns every read selects: what an entry is, for whom, and until when. */
export interface EntryRowBase {
  cache_key: string;
  data_source: string;
  path: string;
  scope: string;
  status: number;
  tags: string[];
  stored_at: number;
  expires_at: number;
  stale_until: number;
}

/** Those columns as entry fields (times as whole epoch ms). */
export function entryFields(row: EntryRowBase): Omit<CacheEntry, 'headers' | 'body'> {
  return {
    key: row.cache_key,
    upstream: row.data_source,
    path: row.path,
    status: row.status,
    storedAt: Math.round(row.stored_at),
    expiresAt: Math.round(row.expires_at),
    staleUntil: Math.round(row.stale_until),
    tags: row.tags,
    scope: row.scope as CacheScope,
  };
}
