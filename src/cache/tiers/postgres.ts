import type { CacheScope } from '../../config/types.js';
import type { SqlDatabase } from '../../db/sql.js';
import { ENTRY_FORMAT_VERSION, entrySize, type CacheEntry, type StoredHeaders } from '../entry.js';
import { listPosition, type CacheTier, type EntryDescription, type EntryMeta, type ListableTier, type ListOptions, type ListPage, type TierStats } from '../store.js';
import { deleteInBatches } from '../../db/batches.js';

export interface PostgresTierOptions {
  /** Owned by the caller, who also closes it (after closing the tier). */
  readonly db: SqlDatabase;
  readonly now?: () => number;
  /** How often counted hits are written, in one statement; 0 = only on flushHits()/close(). */
  readonly hitFlushIntervalMs: number;
  /** How often rows past staleUntil are deleted; 0 = only on sweep(). */
  readonly sweepIntervalMs: number;
  /** Rows per DELETE statement of the sweeper. */
  readonly sweepBatchSize: number;
  readonly log?: (obj: Record<string, unknown>, msg: string) => void;
}

/** Batches one sweep() may run before it yields to the next interval, so a backlog never monopolises a connection. */
/** Distinct keys with pending hits that trigger an early flush, bounding the map between intervals. */
const MAX_PENDING_HIT_KEYS = 10_000;

// Timestamps go in as epoch ms through to_timestamp(float8), which rounds to the microsecond, and
// come out as epoch ms through extract(epoch) (numeric on PG 14+): exact to the millisecond.
const ms = (param: string): string => `to_timestamp(${param}::float8 / 1000)`;
const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

const SELECT_ENTRY = `
  SELECT cache_key, data_source, path, scope, status, headers, body, tags,
         ${epochMs('created_at')} AS stored_at, ${epochMs('expires_at')} AS expires_at, ${epochMs('stale_until')} AS stale_until
  FROM api_cache
  WHERE cache_key = $1 AND format = $2 AND stale_until > ${ms('$3')}`;

// hit_count and id survive an overwrite: the key is the same resource, refreshed.
const UPSERT_ENTRY = `
  INSERT INTO api_cache
    (cache_key, format, data_source, path, scope, status, headers, body, tags, size_bytes, created_at, expires_at, stale_until)
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::text[], $10, ${ms('$11')}, ${ms('$12')}, ${ms('$13')})
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
  FROM api_cache WHERE format = $1 AND stale_until > ${ms('$2')}`;

const FLUSH_HITS = `
  UPDATE api_cache SET hit_count = hit_count + d.n
  FROM unnest($1::text[], $2::bigint[]) AS d(k, n)
  WHERE cache_key = d.k`;

// SKIP LOCKED lets several instances sweep at once without waiting on each other's batches.
const SWEEP_BATCH = `
  DELETE FROM api_cache WHERE id IN (
    SELECT id FROM api_cache WHERE stale_until <= ${ms('$1')}
    ORDER BY stale_until LIMIT $2 FOR UPDATE SKIP LOCKED)`;

// ---- admin listing and inspection (never the body; see migrations/0006_api_cache_listing.sql)

/** The listing order, as indexed by api_cache_listing_idx: byte order, whatever the locale. */
const LIST_ORDER = 'data_source COLLATE "C", path COLLATE "C", cache_key COLLATE "C"';
// octet_length(bytea) reads the stored length without detoasting (or fetching) the body.
const META_COLUMNS = `cache_key, data_source, path, scope, status, tags, size_bytes, octet_length(body) AS body_bytes,
  ${epochMs('created_at')} AS stored_at, ${epochMs('expires_at')} AS expires_at, ${epochMs('stale_until')} AS stale_until`;

const DESCRIBE_ENTRY = `
  SELECT ${META_COLUMNS}, headers FROM api_cache
  WHERE cache_key = $1 AND format = $2 AND stale_until > ${ms('$3')}`;

const LIVE_KEYS = `
  SELECT cache_key FROM api_cache
  WHERE cache_key = ANY($1::text[]) AND format = $2 AND stale_until > ${ms('$3')}`;

interface MetaRow {
  cache_key: string;
  data_source: string;
  path: string;
  scope: string;
  status: number;
  tags: string[];
  size_bytes: number;
  body_bytes: number;
  stored_at: number;
  expires_at: number;
  stale_until: number;
}

interface EntryRow {
  cache_key: string;
  data_source: string;
  path: string;
  scope: string;
  status: number;
  headers: StoredHeaders;
  body: Buffer;
  tags: string[];
  stored_at: number;
  expires_at: number;
  stale_until: number;
}

/**
 * L3: one `api_cache` row per entry (migrations/0001_api_cache.sql), on a server or embedded
 * PGlite through the SQL adapter. Reads go through the unique cache_key index and skip rows of
 * another entry format or past staleUntil (judged by the injected clock, not the server's).
 * Hits are counted in memory and written in one batched UPDATE; a sweeper deletes expired rows
 * in bounded batches. Methods throw on database errors: the guarding wrapper decides what then.
 */
export class PostgresTier implements CacheTier, ListableTier {
  readonly name = 'postgres' as const;
  readonly #db: SqlDatabase;
  readonly #now: () => number;
  readonly #sweepBatchSize: number;
  readonly #log: (obj: Record<string, unknown>, msg: string) => void;
  readonly #timers: NodeJS.Timeout[] = [];
  #hits = new Map<string, number>();
  #flushing: Promise<unknown> = Promise.resolve();
  #sweeping: Promise<number> | null = null;
  #earlyFlushQueued = false;
  #closed = false;

  constructor(options: PostgresTierOptions) {
    if (!Number.isInteger(options.sweepBatchSize) || options.sweepBatchSize < 1) {
      throw new TypeError(`PostgresTier: sweepBatchSize must be a positive integer, got ${options.sweepBatchSize}`);
    }
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
    this.#sweepBatchSize = options.sweepBatchSize;
    this.#log = options.log ?? (() => {});
    if (options.hitFlushIntervalMs > 0) this.#every(options.hitFlushIntervalMs, () => this.#flushInBackground());
    if (options.sweepIntervalMs > 0) {
      this.#every(options.sweepIntervalMs, () => {
        this.sweep().catch((err: unknown) => this.#log({ err }, 'postgres tier: sweep failed'));
      });
    }
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
    this.#hits.clear();
    await this.#db.query(CLEAR);
  }

  /** Live rows of the current format and their sizes (entrySize); O(entries), see STATS. */
  async stats(): Promise<TierStats> {
    const { rows } = await this.#db.query<{ entries: string; bytes: string }>(STATS, [ENTRY_FORMAT_VERSION, this.#now()]);
    return { entries: Number(rows[0]?.entries ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  }

  /** Counts a hit on `key`; written with the next flush (hit_count is advisory, not transactional). */
  countHit(key: string): void {
    if (this.#closed) return;
    this.#hits.set(key, (this.#hits.get(key) ?? 0) + 1);
    if (this.#hits.size >= MAX_PENDING_HIT_KEYS && !this.#earlyFlushQueued) {
      this.#earlyFlushQueued = true;
      this.#flushInBackground();
    }
  }

  /** Writes the counted hits in one UPDATE; resolves the number of keys written. */
  flushHits(): Promise<number> {
    const run = this.#flushing.then(() => this.#flush());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** Deletes rows past staleUntil in batches of sweepBatchSize (at most MAX_DELETE_BATCHES); resolves the rows deleted. */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  /** Stops the timers and writes pending hits; the database stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#sweeping?.catch(() => undefined);
    await this.flushHits().catch((err: unknown) => this.#log({ err }, 'postgres tier: hit counts lost at close'));
  }

  /**
   * Live entries in (upstream, path, key) order, keyset-paginated on that index: each page is one
   * index range scan from the position, reading `limit + 1` matching rows plus any expired (not
   * yet swept) or other-format rows in between — O(limit) whatever the table holds. The upstream
   * filter and a path prefix (as a LIKE on the "C"-collated path) are index conditions too.
   */
  async listEntries(options: ListOptions): Promise<ListPage> {
    const params: unknown[] = [ENTRY_FORMAT_VERSION, this.#now()];
    const bind = (value: unknown): string => {
      params.push(value);
      return `$${params.length}::text`;
    };
    const where = ['format = $1', `stale_until > ${ms('$2')}`];
    if (options.upstream !== undefined) where.push(`data_source COLLATE "C" = ${bind(options.upstream)}`);
    if (options.prefix !== undefined) {
      where.push(`path COLLATE "C" >= ${bind(options.prefix)}`, `path COLLATE "C" LIKE ${bind(`${escapeLike(options.prefix)}%`)}`);
    }
    if (options.after !== undefined) {
      const [upstream, path, key] = listPosition.decode(options.after, ['string', 'string', 'string']);
      where.push(`(${LIST_ORDER}) > (${bind(upstream)}, ${bind(path)}, ${bind(key)})`);
    }
    params.push(options.limit + 1);
    const sql = `SELECT ${META_COLUMNS} FROM api_cache WHERE ${where.join(' AND ')} ORDER BY ${LIST_ORDER} LIMIT $${params.length}`;
    const { rows } = await this.#db.query<MetaRow>(sql, params);
    const page = rows.slice(0, options.limit).map(toMeta);
    const last = page[page.length - 1];
    return { entries: page, next: rows.length > options.limit && last !== undefined ? listPosition.encode([last.upstream, last.path, last.key]) : null };
  }

  async describeEntry(key: string): Promise<EntryDescription | undefined> {
    const { rows } = await this.#db.query<MetaRow & { headers: StoredHeaders }>(DESCRIBE_ENTRY, [key, ENTRY_FORMAT_VERSION, this.#now()]);
    const row = rows[0];
    return row === undefined ? undefined : { ...toMeta(row), headerNames: Object.keys(row.headers) };
  }

  async hasEntries(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const { rows } = await this.#db.query<{ cache_key: string }>(LIVE_KEYS, [[...keys], ENTRY_FORMAT_VERSION, this.#now()]);
    return new Set(rows.map((row) => row.cache_key));
  }

  async #flush(): Promise<number> {
    this.#earlyFlushQueued = false;
    if (this.#hits.size === 0) return 0;
    const pending = this.#hits;
    this.#hits = new Map();
    // Sorted, so instances flushing overlapping keys lock rows in the same order (no deadlock).
    const keys = [...pending.keys()].sort();
    try {
      await this.#db.query(FLUSH_HITS, [keys, keys.map((k) => pending.get(k)!)]);
    } catch (err) {
      if (this.#hits.size < MAX_PENDING_HIT_KEYS) {
        for (const [key, n] of pending) this.#hits.set(key, (this.#hits.get(key) ?? 0) + n);
      }
      throw err;
    }
    return keys.length;
  }

  async #sweep(): Promise<number> {
    const deleted = await deleteInBatches(this.#db, SWEEP_BATCH, this.#now(), this.#sweepBatchSize);
    if (deleted > 0) this.#log({ deleted }, 'postgres tier: swept expired entries');
    return deleted;
  }

  #flushInBackground(): void {
    this.flushHits().catch((err: unknown) => this.#log({ err }, 'postgres tier: hit flush failed'));
  }

  #every(intervalMs: number, fn: () => void): void {
    this.#timers.push(setInterval(fn, intervalMs).unref());
  }
}

function toMeta(row: MetaRow): EntryMeta {
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
    bodyBytes: Number(row.body_bytes),
    sizeBytes: Number(row.size_bytes),
  };
}

/** A LIKE pattern matching `text` literally (backslash is the default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toEntry(row: EntryRow): CacheEntry {
  return {
    key: row.cache_key,
    upstream: row.data_source,
    path: row.path,
    status: row.status,
    headers: row.headers,
    body: row.body,
    storedAt: Math.round(row.stored_at),
    expiresAt: Math.round(row.expires_at),
    staleUntil: Math.round(row.stale_until),
    tags: row.tags,
    scope: row.scope as CacheScope,
  };
}
