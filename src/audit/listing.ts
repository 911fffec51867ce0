import type { SqlClient } from '../db/sql.js';
import { AuditQueryError, CACHE_OUTCOMES, isoTime, pageLimit, parseStatusFilter, UUID_PATTERN, type CacheFilter } from './query-input.js';

/**
 * The admin audit listing: a pure SQL builder (every value is a bind parameter, never spliced
 * into the text) and its runner, newest first with keyset pagination on (ts, request_id) — the
 * order of the primary key, which also serves time windows and partition pruning; the session,
 * action and user filters have indexes of their own (migrations 0004, 0007).
 */

export interface AuditFilters {
  session?: string;
  user?: string;
  upstream?: string;
  action?: string;
  /** An exact status (404) or a class such as `'5xx'`. */
  status?: number | string;
  cache?: CacheFilter;
  /** Inclusive lower bound on `ts`. */
  from?: Date;
  /** Exclusive upper bound on `ts`. */
  to?: Date;
}

export interface AuditPage {
  /** 1..1000, default 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** One audit row as the admin API shows it. */
export interface AuditRow {
  requestId: string;
  /** ISO-8601, millisecond precision. */
  ts: string;
  sessionId: string | null;
  userIdentifier: string | null;
  upstream: string | null;
  method: string | null;
  path: string | null;
  query: string | null;
  action: string | null;
  resourceType: string | null;
  resourceId: string | null;
  status: number | null;
  cacheOutcome: string | null;
  cacheTier: string | null;
  totalMs: number | null;
  upstreamMs: number | null;
  requestBytes: number | null;
  responseBytes: number | null;
  clientIp: string | null;
  userAgent: string | null;
  errorCode: string | null;
}

export interface AuditListing {
  items: AuditRow[];
  nextCursor: string | null;
}

export interface SqlStatement {
  text: string;
  params: unknown[];
}

const AUDIT_COLUMNS = `request_id, (extract(epoch FROM ts) * 1000000)::bigint::text AS ts_us, session_id::text AS session_id,
  user_identifier, upstream, method, path, query, action, resource_type, resource_id, status, cache_outcome, cache_tier,
  total_ms, upstream_ms, request_bytes, response_bytes, client_ip, user_agent, error_code`;

interface AuditDbRow {
  request_id: string;
  ts_us: string;
  session_id: string | null;
  user_identifier: string | null;
  upstream: string | null;
  method: string | null;
  path: string | null;
  query: string | null;
  action: string | null;
  resource_type: string | null;
  resource_id: string | null;
  status: number | null;
  cache_outcome: string | null;
  cache_tier: string | null;
  total_ms: number | null;
  upstream_ms: number | null;
  request_bytes: string | number | null;
  response_bytes: string | number | null;
  client_ip: string | null;
  user_agent: string | null;
  error_code: string | null;
}

/** Where a page ends: the last row's time (epoch ms, plus sub-millisecond microseconds) and request id. */
interface CursorPosition {
  ms: number;
  us: number;
  id: string;
}

// ---- listing

/** Rows matching `filters`, newest first, one keyset page at a time. */
export async function listAudit(db: SqlClient, filters: AuditFilters, page: AuditPage = {}): Promise<AuditListing> {
  const limit = pageLimit(page.limit);
  const statement = buildListQuery(filters, { ...page, limit });
  const { rows } = await db.query<AuditDbRow>(statement.text, statement.params);
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  return { items: shown.map(toAuditRow), nextCursor: more && last !== undefined ? encodeCursor(positionOf(last)) : null };
}

/** The listing statement: one row more than `limit`, so the runner knows whether a next page exists. */
export function buildListQuery(filters: AuditFilters, page: AuditPage = {}): SqlStatement {
  const limit = pageLimit(page.limit);
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };

  if (filters.session !== undefined) {
    if (!UUID_PATTERN.test(filters.session)) throw new AuditQueryError('session', 'expected a session id (UUID)');
    where.push(`session_id = ${bind(filters.session)}::uuid`);
  }
  if (filters.user !== undefined) where.push(`user_identifier = ${bind(filters.user)}`);
  if (filters.upstream !== undefined) where.push(`upstream = ${bind(filters.upstream)}`);
  if (filters.action !== undefined) where.push(`action = ${bind(filters.action)}`);
  if (filters.status !== undefined) {
    const range = parseStatusFilter(filters.status);
    where.push(range.min + 1 === range.max ? `status = ${bind(range.min)}` : `status >= ${bind(range.min)} AND status < ${bind(range.max)}`);
  }
  if (filters.cache !== undefined) {
    if (filters.cache === 'NONE') where.push('cache_outcome IS NULL');
    else if ((CACHE_OUTCOMES as readonly string[]).includes(filters.cache)) where.push(`cache_outcome = ${bind(filters.cache)}`);
    else throw new AuditQueryError('cache', `expected one of ${[...CACHE_OUTCOMES, 'NONE'].join(', ')}`);
  }
  if (filters.from !== undefined) where.push(`ts >= ${bind(isoTime(filters.from, 'from'))}::timestamptz`);
  if (filters.to !== undefined) where.push(`ts < ${bind(isoTime(filters.to, 'to'))}::timestamptz`);
  if (page.cursor !== undefined) {
    const position = decodeCursor(page.cursor);
    const ts = bind(cursorTime(position));
    // The plain `ts <=` lets the planner use the ts index; the row comparison breaks ties.
    where.push(`ts <= ${ts}::timestamptz AND (ts, request_id) < (${ts}::timestamptz, ${bind(position.id)}::text)`);
  }

  const text = `SELECT ${AUDIT_COLUMNS} FROM audit_logs${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}
  ORDER BY ts DESC, request_id DESC LIMIT ${bind(limit + 1)}`;
  return { text, params };
}

// ---- cursors

/**
 * base64url of `{"ts": <epoch ms>, "id": <request id>}`; `us` (0-999) is added only when the row's
 * timestamp has sub-millisecond digits, so a page never repeats a row Postgres stored in microseconds.
 */
export function encodeCursor(position: { ms: number; us?: number; id: string }): string {
  const json = position.us ? { ts: position.ms, us: position.us, id: position.id } : { ts: position.ms, id: position.id };
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorPosition {
  const invalid = new AuditQueryError('cursor', 'expected the nextCursor of a previous page');
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw invalid;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid;
  const { ts, us = 0, id, ...rest } = value as Record<string, unknown>;
  const valid =
    Object.keys(rest).length === 0 &&
    Number.isSafeInteger(ts) && (ts as number) >= 0 && (ts as number) <= 8.64e15 &&
    Number.isInteger(us) && (us as number) >= 0 && (us as number) <= 999 &&
    typeof id === 'string' && id.length > 0 && id.length <= 256;
  if (!valid) throw invalid;
  return { ms: ts as number, us: us as number, id: id as string };
}

/** The cursor's time as exact microsecond text, e.g. `2025-03-10T12:00:00.123456Z`. */
function cursorTime(position: CursorPosition): string {
  return `${new Date(position.ms).toISOString().slice(0, -1)}${String(position.us).padStart(3, '0')}Z`;
}

function positionOf(row: AuditDbRow): CursorPosition {
  const us = BigInt(row.ts_us);
  return { ms: Number(us / 1000n), us: Number(us % 1000n), id: row.request_id };
}

function toAuditRow(row: AuditDbRow): AuditRow {
  return {
    requestId: row.request_id,
    ts: new Date(positionOf(row).ms).toISOString(),
    sessionId: row.session_id,
    userIdentifier: row.user_identifier,
    upstream: row.upstream,
    method: row.method,
    path: row.path,
    query: row.query,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    status: row.status,
    cacheOutcome: row.cache_outcome,
    cacheTier: row.cache_tier,
    totalMs: row.total_ms,
    upstreamMs: row.upstream_ms,
    requestBytes: toNumber(row.request_bytes),
    responseBytes: toNumber(row.response_bytes),
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    errorCode: row.error_code,
  };
}

function toNumber(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}
