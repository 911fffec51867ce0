import type { SqlDatabase } from '../../db/sql.js';
import { msFromTimestamp, timestampFromMs } from '../../db/sql-time.js';
import { entrySize, type CacheEntry, type StoredHeaders } from '../entry.js';
import { EntryCodec } from '../sealed-codec.js';
import type { CacheTier, EntryDescription, ListableTier, ListOptions, ListPage, TierStats } from '../store.js';
import { describeEntry, listEntries, liveKeys } from './postgres-listing.js';
import { entryFields, type EntryRowBase } from './postgres-rows.js';
import { contentColumns, rowFormat, SEALED_HEAD_BYTES } from './postgres-sealed.js';

export interface PostgresTierOptions {
  /** Owned by the caller, who also closes it (after closing the tier). */
  readonly db: SqlDatabase;
  readonly now?: () => number;
  /** Plain or sealed rows (default: plain; see postgres-sealed.ts). */
  readonly codec?: EntryCodec;
}

const SELECT_ENTRY = `
  SELECT cache_key, data_source, path, scope, status, headers, body, tags,
         ${msFromTimestamp('created_at')} AS stored_at, ${msFromTimestamp('expires_at')} AS expires_at, ${msFromTimestamp('stale_until')} AS stale_until
  FROM api_cache
  WHERE cache_key = $1 AND format = $2 AND stale_until > ${timestampFromMs('$3')}`;

// hit_count and id survive an overwrite: the key is the same resource, refreshed.
const UPSERT_ENTRY = `
  INSERT INTO api_cache
    (cache_key, format, data_source, path, scope, status, headers, body, tags, size_bytes, created_at, expires_at, stale_until, path_prefixes)
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::text[], $10, ${timestampFromMs('$11')}, ${timestampFromMs('$12')}, ${timestampFromMs('$13')}, $14::text[])
  ON CONFLICT (cache_key) DO UPDATE SET
    format = EXCLUDED.format, data_source = EXCLUDED.data_source, path = EXCLUDED.path, scope = EXCLUDED.scope,
    status = EXCLUDED.status, headers = EXCLUDED.headers, body = EXCLUDED.body, tags = EXCLUDED.tags,
    size_bytes = EXCLUDED.size_bytes, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
    stale_until = EXCLUDED.stale_until, path_prefixes = EXCLUDED.path_prefixes`;

// Re-sealing under the current key, only if the row still holds the write that was read.
const RESEAL_ENTRY = `
  UPDATE api_cache SET body = $3, path = $4, tags = $5::text[], path_prefixes = $6::text[]
  WHERE cache_key = $1 AND format = $2 AND substring(body from 1 for ${SEALED_HEAD_BYTES}) = $7`;

// TOAST compresses a plain body, but ciphertext does not compress: a sealed entry's large body is brotli-compressed before sealing.
const SEALED_COMPRESS_ABOVE_BYTES = 8 * 1024;

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
  readonly #codec: EntryCodec;
  readonly #format: number;

  constructor(options: PostgresTierOptions) {
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
    this.#codec = options.codec ?? new EntryCodec('postgres', null);
    this.#format = rowFormat(this.#codec);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const { rows } = await this.#db.query<EntryRow>(SELECT_ENTRY, [key, this.#format, this.#now()]);
    const row = rows[0];
    if (row === undefined) return undefined;
    if (this.#codec.ring === null) return toEntry(row);
    // A sealed row: everything but the readable columns is in the body; one that does not open is a miss.
    const decoded = await this.#codec.decode(row.body, key);
    if (decoded?.oldKey === true) await this.#reseal(decoded.entry, row.body);
    return decoded?.entry;
  }

  /** Re-seals a row read under an older key; a lost race (the row was rewritten) leaves the newer one. */
  async #reseal(entry: CacheEntry, read: Buffer): Promise<void> {
    const columns = contentColumns(this.#codec, entry);
    const body = await this.#codec.encode(entry, SEALED_COMPRESS_ABOVE_BYTES);
    await this.#db
      .query(RESEAL_ENTRY, [entry.key, this.#format, body, columns.path, columns.tags, columns.pathPrefixes, read.subarray(0, SEALED_HEAD_BYTES)])
      .catch(() => undefined);
  }

  /** Upserts the entry; one already past staleUntil is not stored, and removes what was there. */
  async set(entry: CacheEntry): Promise<void> {
    if (entry.staleUntil <= this.#now()) {
      await this.#db.query(DELETE_ENTRY, [entry.key]);
      return;
    }
    const columns = contentColumns(this.#codec, entry);
    await this.#db.query(UPSERT_ENTRY, [
      entry.key,
      columns.format,
      entry.upstream,
      columns.path,
      entry.scope,
      entry.status,
      JSON.stringify(columns.headers),
      this.#codec.ring === null ? entry.body : await this.#codec.encode(entry, SEALED_COMPRESS_ABOVE_BYTES),
      columns.tags,
      entrySize(entry),
      entry.storedAt,
      entry.expiresAt,
      entry.staleUntil,
      columns.pathPrefixes,
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
    const { rows } = await this.#db.query<{ entries: string; bytes: string }>(STATS, [this.#format, this.#now()]);
    return { entries: Number(rows[0]?.entries ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  }

  /** Nothing to release: the database's owner closes it (after the upkeep, see postgres-upkeep.ts). */
  async close(): Promise<void> {}

  listEntries(options: ListOptions): Promise<ListPage> {
    return listEntries(this.#db, this.#codec, this.#now(), options);
  }

  describeEntry(key: string): Promise<EntryDescription | undefined> {
    return describeEntry(this.#db, this.#codec, this.#now(), key);
  }

  hasEntries(keys: readonly string[]): Promise<Set<string>> {
    return liveKeys(this.#db, this.#format, this.#now(), keys);
  }
}

function toEntry(row: EntryRow): CacheEntry {
  return { ...entryFields(row), headers: row.headers, body: row.body };
}
