// The Postgres tier's admin listing and inspection; never the body of a plain row (see migrations/0006_api_cache_listing.sql).
import type { SqlDatabase } from '../../db/sql.js';
import { msFromTimestamp, timestampFromMs } from '../../db/sql-time.js';
import type { StoredHeaders } from '../entry.js';
import type { EntryCodec } from '../sealed-codec.js';
import { indexedPrefix } from '../sealed-index.js';
import { describeOf, listPosition, type EntryDescription, type EntryMeta, type ListOptions, type ListPage } from '../store.js';
import { entryFields, type EntryRowBase } from './postgres-rows.js';
import { rowFormat } from './postgres-sealed.js';

/** The listing order, as indexed by api_cache_listing_idx: byte order, whatever the locale. */
const LIST_ORDER = 'data_source COLLATE "C", path COLLATE "C", cache_key COLLATE "C"';
// octet_length(bytea) reads the stored length without detoasting (or fetching) the body.
const META_COLUMNS = `cache_key, data_source, path, scope, status, tags, size_bytes, octet_length(body) AS body_bytes,
  ${msFromTimestamp('created_at')} AS stored_at, ${msFromTimestamp('expires_at')} AS expires_at, ${msFromTimestamp('stale_until')} AS stale_until`;

const DESCRIBE_ENTRY = `
  SELECT ${META_COLUMNS}, headers, CASE WHEN format >= 256 THEN body END AS sealed FROM api_cache
  WHERE cache_key = $1 AND format = $2 AND stale_until > ${timestampFromMs('$3')}`;

const LIVE_KEYS = `
  SELECT cache_key FROM api_cache
  WHERE cache_key = ANY($1::text[]) AND format = $2 AND stale_until > ${timestampFromMs('$3')}`;

interface MetaRow extends EntryRowBase {
  size_bytes: number;
  body_bytes: number;
  /** A sealed row's body (the whole entry), read to list it; null for a plain row. */
  sealed: Buffer | null;
}

/**
 * Live entries in (upstream, path, key) order, keyset-paginated on that index: each page is one
 * index range scan from the position, reading `limit + 1` matching rows plus any expired (not
 * yet swept) or other-format rows in between — O(limit) whatever the table holds. The upstream
 * filter and a path prefix (as a LIKE on the "C"-collated path) are index conditions too.
 *
 * Sealed rows are listed by opening them (admins see what a plain listing shows): their `path`
 * column is a keyed hash, so the order within an upstream is arbitrary but stable, and a prefix
 * is looked up in `path_prefixes` at its last segment boundary, then checked on the opened
 * path — pages may come back short; follow `next`. A row that does not open is left out.
 */
export async function listEntries(db: SqlDatabase, codec: EntryCodec, now: number, options: ListOptions): Promise<ListPage> {
  const ring = codec.ring;
  const params: unknown[] = [rowFormat(codec), now];
  const bind = (value: unknown, type = 'text'): string => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  const where = ['format = $1', `stale_until > ${timestampFromMs('$2')}`];
  if (options.upstream !== undefined) where.push(`data_source COLLATE "C" = ${bind(options.upstream)}`);
  if (options.prefix !== undefined && ring === null) {
    where.push(`path COLLATE "C" >= ${bind(options.prefix)}`, `path COLLATE "C" LIKE ${bind(`${escapeLike(options.prefix)}%`)}`);
  } else if (options.prefix !== undefined && ring !== null) {
    where.push(`path_prefixes && ${bind(ring.indexHashes(indexedPrefix(options.prefix)), 'text[]')}`);
  }
  if (options.after !== undefined) {
    const [upstream, path, key] = listPosition.decode(options.after, ['string', 'string', 'string']);
    where.push(`(${LIST_ORDER}) > (${bind(upstream)}, ${bind(path)}, ${bind(key)})`);
  }
  params.push(options.limit + 1);
  const sealed = ring === null ? 'NULL::bytea AS sealed' : 'body AS sealed';
  const sql = `SELECT ${META_COLUMNS}, ${sealed} FROM api_cache WHERE ${where.join(' AND ')} ORDER BY ${LIST_ORDER} LIMIT $${params.length}`;
  const { rows } = await db.query<MetaRow>(sql, params);
  const page = rows.slice(0, options.limit);
  const entries = page
    .map((row) => toMeta(codec, row))
    .filter((meta): meta is EntryMeta => meta !== undefined && (options.prefix === undefined || meta.path.startsWith(options.prefix)));
  const last = page[page.length - 1];
  // The position is the row's stored order (a sealed row's hashed path), not the opened one.
  return { entries, next: rows.length > options.limit && last !== undefined ? listPosition.encode([last.data_source, last.path, last.cache_key]) : null };
}

export async function describeEntry(db: SqlDatabase, codec: EntryCodec, now: number, key: string): Promise<EntryDescription | undefined> {
  const { rows } = await db.query<MetaRow & { headers: StoredHeaders }>(DESCRIBE_ENTRY, [key, rowFormat(codec), now]);
  const row = rows[0];
  if (row === undefined) return undefined;
  if (row.sealed !== null) {
    const opened = codec.decodeMeta(row.sealed, key);
    return opened === undefined ? undefined : { ...describeOf(opened.fields, opened.bodyBytes), sizeBytes: Number(row.size_bytes) };
  }
  const meta = toMeta(codec, row);
  return meta === undefined ? undefined : { ...meta, headerNames: Object.keys(row.headers) };
}

/** Which of `keys` have a live row of this format. */
export async function liveKeys(db: SqlDatabase, format: number, now: number, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await db.query<{ cache_key: string }>(LIVE_KEYS, [[...keys], format, now]);
  return new Set(rows.map((row) => row.cache_key));
}

/** A row's metadata: its columns, or, for a sealed row, its opened fields (undefined if it does not open). */
function toMeta(codec: EntryCodec, row: MetaRow): EntryMeta | undefined {
  if (row.sealed === null) return { ...entryFields(row), bodyBytes: Number(row.body_bytes), sizeBytes: Number(row.size_bytes) };
  const opened = codec.decodeMeta(row.sealed, row.cache_key);
  if (opened === undefined) return undefined;
  const { headers: _headers, ...fields } = opened.fields;
  return { ...fields, bodyBytes: opened.bodyBytes, sizeBytes: Number(row.size_bytes) };
}

/** A LIKE pattern matching `text` literally (backslash is the default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
