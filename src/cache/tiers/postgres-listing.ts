// The Postgres tier's admin listing and inspection; never the body (see migrations/0006_api_cache_listing.sql).
import type { SqlDatabase } from '../../db/sql.js';
import { msFromTimestamp, timestampFromMs } from '../../db/sql-time.js';
import { ENTRY_FORMAT_VERSION, type StoredHeaders } from '../entry.js';
import { listPosition, type EntryDescription, type EntryMeta, type ListOptions, type ListPage } from '../store.js';
import { entryFields, type EntryRowBase } from './postgres-rows.js';

/** The listing order, as indexed by api_cache_listing_idx: byte order, whatever the locale. */
const LIST_ORDER = 'data_source COLLATE "C", path COLLATE "C", cache_key COLLATE "C"';
// octet_length(bytea) reads the stored length without detoasting (or fetching) the body.
const META_COLUMNS = `cache_key, data_source, path, scope, status, tags, size_bytes, octet_length(body) AS body_bytes,
  ${msFromTimestamp('created_at')} AS stored_at, ${msFromTimestamp('expires_at')} AS expires_at, ${msFromTimestamp('stale_until')} AS stale_until`;

const DESCRIBE_ENTRY = `
  SELECT ${META_COLUMNS}, headers FROM api_cache
  WHERE cache_key = $1 AND format = $2 AND stale_until > ${timestampFromMs('$3')}`;

const LIVE_KEYS = `
  SELECT cache_key FROM api_cache
  WHERE cache_key = ANY($1::text[]) AND format = $2 AND stale_until > ${timestampFromMs('$3')}`;

interface MetaRow extends EntryRowBase {
  size_bytes: number;
  body_bytes: number;
}

/**
 * Live entries in (upstream, path, key) order, keyset-paginated on that index: each page is one
 * index range scan from the position, reading `limit + 1` matching rows plus any expired (not
 * yet swept) or other-format rows in between — O(limit) whatever the table holds. The upstream
 * filter and a path prefix (as a LIKE on the "C"-collated path) are index conditions too.
 */
export async function listEntries(db: SqlDatabase, now: number, options: ListOptions): Promise<ListPage> {
  const params: unknown[] = [ENTRY_FORMAT_VERSION, now];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}::text`;
  };
  const where = ['format = $1', `stale_until > ${timestampFromMs('$2')}`];
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
  const { rows } = await db.query<MetaRow>(sql, params);
  const page = rows.slice(0, options.limit).map(toMeta);
  const last = page[page.length - 1];
  return { entries: page, next: rows.length > options.limit && last !== undefined ? listPosition.encode([last.upstream, last.path, last.key]) : null };
}

export async function describeEntry(db: SqlDatabase, now: number, key: string): Promise<EntryDescription | undefined> {
  const { rows } = await db.query<MetaRow & { headers: StoredHeaders }>(DESCRIBE_ENTRY, [key, ENTRY_FORMAT_VERSION, now]);
  const row = rows[0];
  return row === undefined ? undefined : { ...toMeta(row), headerNames: Object.keys(row.headers) };
}

/** Which of `keys` have a live row. */
export async function liveKeys(db: SqlDatabase, now: number, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await db.query<{ cache_key: string }>(LIVE_KEYS, [[...keys], ENTRY_FORMAT_VERSION, now]);
  return new Set(rows.map((row) => row.cache_key));
}

function toMeta(row: MetaRow): EntryMeta {
  return { ...entryFields(row), bodyBytes: Number(row.body_bytes), sizeBytes: Number(row.size_bytes) };
}

/** A LIKE pattern matching `text` literally (backslash is the default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
