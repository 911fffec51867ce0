import type { SqlClient, SqlDatabase } from '../db/sql.js';

/**
 * Audit listing and reports for the admin API: pure SQL builders (every value is a bind
 * parameter, never spliced into the text) and small runners over `SqlDatabase`. Every query is
 * bounded by `ts`, so it can use the `audit_logs (ts)` index and partition pruning.
 */

/** An input the caller got wrong; `param` names it, `expected` says what would have been right. */
export class AuditQueryError extends Error {
  readonly code = 'invalid_request';
  readonly param: string;
  readonly expected: string;

  constructor(param: string, expected: string) {
    super(`${param}: ${expected}`);
    this.name = 'AuditQueryError';
    this.param = param;
    this.expected = expected;
  }
}

export const CACHE_OUTCOMES = ['HIT', 'MISS', 'STALE', 'BYPASS'] as const;
/** `NONE` selects rows with no cache outcome (requests that never reached the cache). */
export type CacheFilter = (typeof CACHE_OUTCOMES)[number] | 'NONE';

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

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_WINDOW_MS = 400 * 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUS_CLASS = /^([1-5])xx$/i;

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
    if (!UUID.test(filters.session)) throw new AuditQueryError('session', 'expected a session id (UUID)');
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

/** `404` or `'404'` → [404, 405); `'5xx'` → [500, 600). */
export function parseStatusFilter(value: number | string): { min: number; max: number } {
  const expected = 'expected an HTTP status (100-599) or a class such as 5xx';
  if (typeof value === 'string') {
    const cls = STATUS_CLASS.exec(value);
    if (cls !== null) return { min: Number(cls[1]) * 100, max: Number(cls[1]) * 100 + 100 };
    if (!/^\d{3}$/.test(value)) throw new AuditQueryError('status', expected);
    value = Number(value);
  }
  if (!Number.isInteger(value) || value < 100 || value > 599) throw new AuditQueryError('status', expected);
  return { min: value, max: value + 1 };
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new AuditQueryError('limit', `expected an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

function isoTime(date: Date, param: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new AuditQueryError(param, 'expected a valid time');
  return date.toISOString();
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

// ---- windows

const WINDOW_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `'90m'`, `'24h'`, `'7d'`, `'2w'` → milliseconds; anything else, zero, or beyond 400 days is refused. */
export function parseWindow(window: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(window);
  const ms = match === null ? NaN : Number(match[1]) * WINDOW_UNITS[match[2]!]!;
  if (!(ms > 0 && ms <= MAX_WINDOW_MS)) {
    throw new AuditQueryError('window', 'expected a duration such as 90m, 24h, 7d or 2w, greater than zero and at most 400d');
  }
  return ms;
}

// ---- report

export interface LatencySummary {
  totalP50: number | null;
  totalP95: number | null;
  upstreamP50: number | null;
  upstreamP95: number | null;
}

export interface FacetCount {
  requests: number;
  errors: number;
}

export interface Report {
  from: string;
  to: string;
  totalRequests: number;
  /** Status >= 500 or an error code. */
  errorCount: number;
  /** (HIT + STALE) / (HIT + STALE + MISS); null when nothing cacheable happened. */
  hitRatio: number | null;
  latency: LatencySummary;
  /** UTC dates with at least one request, oldest first. */
  byDay: Array<{ day: string } & FacetCount>;
  /** Busiest first; `upstream` is null for requests that matched no upstream. */
  byUpstream: Array<{ upstream: string | null; hitRatio: number | null; latency: LatencySummary } & FacetCount>;
  byAction: Array<{ action: string | null } & FacetCount>;
  byCacheOutcome: Record<CacheFilter, number>;
}

const WINDOW = 'ts >= $1::timestamptz AND ts < $2::timestamptz';
const COUNTS = `count(*)::int8 AS requests, count(*) FILTER (WHERE status >= 500 OR error_code IS NOT NULL)::int8 AS errors`;
const RATIO = `count(*) FILTER (WHERE cache_outcome IN ('HIT', 'STALE'))::int8 AS hits,
  count(*) FILTER (WHERE cache_outcome IN ('HIT', 'STALE', 'MISS'))::int8 AS cacheable`;
const LATENCY = `percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms) AS total_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms) AS total_p95,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY upstream_ms) AS upstream_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY upstream_ms) AS upstream_p95`;

/** The report's statements, one per facet; each takes `[from, to]` and stays within `ts >= $1 AND ts < $2`. */
export const REPORT_QUERIES = {
  totals: `SELECT ${COUNTS}, ${RATIO}, ${LATENCY} FROM audit_logs WHERE ${WINDOW}`,
  byDay: `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${COUNTS} FROM audit_logs WHERE ${WINDOW} GROUP BY 1 ORDER BY 1`,
  byUpstream: `SELECT upstream, ${COUNTS}, ${RATIO}, ${LATENCY} FROM audit_logs WHERE ${WINDOW}
    GROUP BY upstream ORDER BY count(*) DESC, upstream NULLS LAST`,
  byAction: `SELECT action, ${COUNTS} FROM audit_logs WHERE ${WINDOW} GROUP BY action ORDER BY count(*) DESC, action NULLS LAST`,
  byCacheOutcome: `SELECT cache_outcome, count(*)::int8 AS requests FROM audit_logs WHERE ${WINDOW} GROUP BY cache_outcome`,
} as const;

interface CountsRow {
  requests: string;
  errors: string;
}
interface RatioRow {
  hits: string;
  cacheable: string;
}
interface LatencyRow {
  total_p50: number | null;
  total_p95: number | null;
  upstream_p50: number | null;
  upstream_p95: number | null;
}

/** The activity report for `[from, to)`. All facets are read from one snapshot, so they agree with each other. */
export async function auditReport(db: SqlDatabase, window: { from: Date; to: Date }): Promise<Report> {
  const params = [isoTime(window.from, 'from'), isoTime(window.to, 'to')];
  if (window.to.getTime() <= window.from.getTime()) throw new AuditQueryError('to', 'expected a time after from');
  return db.withClient(async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const run = async <R>(text: string) => (await client.query<R>(text, params)).rows;
    const totals = (await run<CountsRow & RatioRow & LatencyRow>(REPORT_QUERIES.totals))[0];
    const days = await run<CountsRow & { day: string }>(REPORT_QUERIES.byDay);
    const upstreams = await run<CountsRow & RatioRow & LatencyRow & { upstream: string | null }>(REPORT_QUERIES.byUpstream);
    const actions = await run<CountsRow & { action: string | null }>(REPORT_QUERIES.byAction);
    const outcomes = await run<{ cache_outcome: string | null; requests: string }>(REPORT_QUERIES.byCacheOutcome);
    await client.query('COMMIT');

    const byCacheOutcome: Record<CacheFilter, number> = { HIT: 0, MISS: 0, STALE: 0, BYPASS: 0, NONE: 0 };
    // audit_logs has a CHECK on cache_outcome, so these five keys are all there is.
    for (const row of outcomes) byCacheOutcome[(row.cache_outcome ?? 'NONE') as CacheFilter] += Number(row.requests);
    return {
      from: params[0]!,
      to: params[1]!,
      totalRequests: Number(totals?.requests ?? 0),
      errorCount: Number(totals?.errors ?? 0),
      hitRatio: totals === undefined ? null : hitRatio(totals),
      latency: totals === undefined ? { totalP50: null, totalP95: null, upstreamP50: null, upstreamP95: null } : latency(totals),
      byDay: days.map((row) => ({ day: row.day, ...counts(row) })),
      byUpstream: upstreams.map((row) => ({ upstream: row.upstream, ...counts(row), hitRatio: hitRatio(row), latency: latency(row) })),
      byAction: actions.map((row) => ({ action: row.action, ...counts(row) })),
      byCacheOutcome,
    };
  });
}

function counts(row: CountsRow): FacetCount {
  return { requests: Number(row.requests), errors: Number(row.errors) };
}

function hitRatio(row: RatioRow): number | null {
  const cacheable = Number(row.cacheable);
  return cacheable === 0 ? null : Number(row.hits) / cacheable;
}

function latency(row: LatencyRow): LatencySummary {
  return { totalP50: row.total_p50, totalP95: row.total_p95, upstreamP50: row.upstream_p50, upstreamP95: row.upstream_p95 };
}

// ---- sessions

/** A session as the admin API shows it: never the token hash, at most its first 8 characters. */
export interface SessionView {
  id: string;
  tokenPrefix: string | null;
  userIdentifier: string | null;
  preferences: unknown;
  createdAt: string | null;
  lastAccessed: string | null;
  expiresAt: string | null;
}

export interface SessionActivity {
  session: SessionView;
  recentActivity: AuditRow[];
}

/** The session and its most recent audit rows, or null when no session has this id. */
export async function sessionActivity(db: SqlDatabase, sessionId: string, limit = 50): Promise<SessionActivity | null> {
  if (!UUID.test(sessionId)) throw new AuditQueryError('id', 'expected a session id (UUID)');
  const { rows } = await db.query<{
    id: string;
    token_prefix: string | null;
    user_identifier: string | null;
    preferences: unknown;
    created_at: Date | string | null;
    last_accessed: Date | string | null;
    expires_at: Date | string | null;
  }>(
    `SELECT id::text AS id, left(token_hash, 8) AS token_prefix, user_identifier, preferences, created_at, last_accessed, expires_at
     FROM user_sessions WHERE id = $1::uuid`,
    [sessionId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const { items } = await listAudit(db, { session: sessionId }, { limit });
  return {
    session: {
      id: row.id,
      tokenPrefix: row.token_prefix,
      userIdentifier: row.user_identifier,
      preferences: row.preferences ?? null,
      createdAt: isoOrNull(row.created_at),
      lastAccessed: isoOrNull(row.last_accessed),
      expiresAt: isoOrNull(row.expires_at),
    },
    recentActivity: items,
  };
}

function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
