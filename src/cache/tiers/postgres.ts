import type { SqlDatabase } from '../../db/sql.js';
import { msFromTimestamp, timestampFromMs } from '../../db/sql-time.js';
import { ENTRY_FORMAT_VERSION, entrySize, type CacheEntry, type StoredHeaders } from '../entry.js';
import type { CacheTier, EntryDescription, ListableTier, ListOptions, ListPage, TierStats } from '../store.js';
import { describeEntry, listEntries, liveKeys } from './postgres-listing.js';
import { entryFields, type EntryRowBase } from './postgres-rows.js';

export interface PostgresTierOptions {
  /** Owned by the caller, who also closes it (after closing the tier). */
  readonly db: SqlDatabase;
  readonly now?: () => number;
}

const SELECT_ENTRY = `
  SELECT cache_key, data_source, path, scope, status, headers, body, tags,
         ${msFromTimestamp('created_at')} AS stored_at, ${msFromTimestamp('expires_at')} AS expires_at, ${msFromTimestamp('stale_until')} AS stale_until
  FROM api_cache
  WHERE cache_key = $1 AND format = $2 AND stale_until > ${timestampFromMs('$3')}`;

// hit_count and id survive an overwrite: the key is the same resource, refreshed.
const UPSERT_ENTRY = `
  INSERT INTO api_cache
    (cache_key, format, data_source, path, scope, status, headers, body, tags, size_bytes, created_at, expires_at, stale_until)
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::text[], $10, ${timestampFromMs('$11')}, ${timestampFromMs('$12')}, ${timestampFromMs('$13')})
  ON CONFLICT (cache_key) DO UPDATE SET
    format = EXCLUDED.format, data_source = EXCLUDED.data_source, path = EXCLUDED.path, scope = EXCLUDED.scope,
    status = EXCLUDED.status, headers = EXCLUDED.headers, body = EXCLUDED.body, tags = EXCLUDED.tags,
    size_bytes = EXCLUDED.size_bytes, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
    stale_until = EXCLUDED.stale_until`;

const DELETE_ENTRY = 'DELETE FROM api_cache WHERE cache_key = $1';

// DELETE, not TRUNCATE: TRUNCATE takes an ACCESS EXCLUSIVE lock that stalls every other
// instance's reads (and queues behind a slow one), and is not MVCC-safe for concurrent readers.
const CLEAR = 'DELETE FROM api_cache';

// A count over the live rows: a range scan of the stale_until index, O(entries). Fine for an
// occasional stats call, not for a hot path.
const STATS = `
  SELECT count(*)::int8 AS entries, coalesce(sum(size_bytes), 0)::int8 AS bytes
  FROM api_cache WHERE format = $1 AND stale_until > ${timestampFromMs('$2')}`;

interface EntryRow extends EntryRowBase {
  headers: StoredHeaders;
  body: Buffer;
}

/**
 * L3: one `api_cache` row per entry (migrations/0001_api_cache.sql), on a server or embedded
 * PGlite through the SQL adapter. Reads go through the unique cache_key index and skip rows of
 * another entry format or past staleUntil (judged by the injected clock, not the server's).
 * Hit counts and the sweeper are its upkeep (postgres-upkeep.ts). Methods throw on database errors: the guarding wrapper decides what then.
 */
export class PostgresTier implements CacheTier, ListableTier {
  readonly name = 'postgres' as const;
  readonly #db: SqlDatabase;
  readonly #now: () => number;

  constructor(options: PostgresTierOptions) {
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const { rows } = await this.#db.query<EntryRow>(SELECT_ENTRY, [key, ENTRY_FORMAT_VERSION, this.#now()]);
    const row = rows[0];
    return row === undefined ? undefined : toEntry(row);
  }

  /** Upserts the entry; one already past staleUntil is not stored, and removes what was there. */
  async set(entry: CacheEntry): Promise<void> {
    if (entry.staleUntil <= this.#now()) {
      await this.#db.query(DELETE_ENTRY, [entry.key]);
      return;
    }
    await this.#db.query(UPSERT_ENTRY, [
      entry.key,
      ENTRY_FORMAT_VERSION,
      entry.upstream,
      entry.path,
      entry.scope,
      entry.status,
      JSON.stringify(entry.headers),
      entry.body,
      [...entry.tags],
      entrySize(entry),
      entry.storedAt,
      entry.expiresAt,
      entry.staleUntil,
    ]);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#db.query(DELETE_ENTRY, [key])).rowCount > 0;
  }

  async clear(): Promise<void> {
    await this.#db.query(CLEAR);
  }

  /** Live rows of the current format and their sizes (entrySize); O(entries), see STATS. */
  async stats(): Promise<TierStats> {
    const { rows } = await this.#db.query<{ entries: string; bytes: string }>(STATS, [ENTRY_FORMAT_VERSION, this.#now()]);
    return { entries: Number(rows[0]?.entries ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  }

  /** Nothing to release: the database's owner closes it (after the upkeep, see postgres-upkeep.ts). */
  async close(): Promise<void> {}

  listEntries(options: ListOptions): Promise<ListPage> {
    return listEntries(this.#db, this.#now(), options);
  }

  describeEntry(key: string): Promise<EntryDescription | undefined> {
    return describeEntry(this.#db, this.#now(), key);
  }

  hasEntries(keys: readonly string[]): Promise<Set<string>> {
    return liveKeys(this.#db, this.#now(), keys);
  }
}

function toEntry(row: EntryRow): CacheEntry {
  return { ...entryFields(row), headers: row.headers, body: row.body };
}
