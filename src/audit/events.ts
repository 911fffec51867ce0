import { randomUUID } from 'node:crypto';

/** How a request was answered by the cache; null when it never reached the cache. */
export type CacheOutcome = 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED' | 'BYPASS';

export const CACHE_OUTCOMES: readonly CacheOutcome[] = ['HIT', 'MISS', 'STALE', 'REVALIDATED', 'BYPASS'];

/**
 * One `audit_logs` row (migrations/0004_audit_logs.sql) as plain data: what was asked, of which
 * upstream, on whose behalf, and how it was answered. Never a body or a credential.
 */
export interface AuditEvent {
  /** The request id; with `ts`, the row's identity (replays of the same event are no-ops). */
  requestId: string;
  /** When the request arrived, epoch ms (an integer). */
  ts: number;
  /** user_sessions.id (a UUID), when the request had a session. */
  sessionId: string | null;
  userIdentifier: string | null;
  /** Upstream name; null when no upstream matched. */
  upstream: string | null;
  method: string;
  /** Upstream-relative path, without the query. */
  path: string;
  /** The query string without `?`, secret parameters already redacted; null when empty. */
  query: string | null;
  /** Action type from the matched rule (e.g. `salesforce.sobject.read`). */
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  /** Response status; 0 when none was sent (client gone). */
  status: number;
  cacheOutcome: CacheOutcome | null;
  /** Tier that answered a hit (memory, redis, postgres). */
  cacheTier: string | null;
  totalMs: number;
  /** Time spent on the upstream call; null when it was not called. */
  upstreamMs: number | null;
  requestBytes: number;
  responseBytes: number;
  clientIp: string | null;
  userAgent: string | null;
  /** sidecache error code (`upstream_timeout`, ...), when the request failed. */
  errorCode: string | null;
}

/**
 * What auditEvent() needs; everything else defaults to null (or 0 for byte counts). A cache
 * outcome the table does not know (its CHECK allows CACHE_OUTCOMES only) is recorded as null.
 */
export type AuditEventFields = Pick<AuditEvent, 'requestId' | 'method' | 'path' | 'action' | 'status'> &
  Partial<Omit<AuditEvent, 'requestId' | 'method' | 'path' | 'action' | 'status' | 'cacheOutcome'>> & {
    cacheOutcome?: string | null;
  };

/** Longest value kept per text field, in UTF-16 code units; longer values are cut. */
export const AUDIT_FIELD_LIMITS = {
  requestId: 128,
  userIdentifier: 256,
  upstream: 128,
  method: 16,
  path: 2048,
  query: 4096,
  action: 256,
  resourceType: 128,
  resourceId: 512,
  cacheTier: 32,
  clientIp: 64,
  userAgent: 512,
  errorCode: 64,
} as const;

/** Action recorded when the caller gives none. */
export const UNKNOWN_ACTION = 'unknown';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const L = AUDIT_FIELD_LIMITS;
/** Largest Postgres `real` (the latency columns). */
const MAX_REAL = 3.4e38;
/** Latest instant a JS Date can hold (and well inside Postgres timestamptz). */
const MAX_DATE_MS = 8.64e15;

/**
 * Builds a normalised audit event: text cut to AUDIT_FIELD_LIMITS (never in the middle of a
 * surrogate pair), NUL characters (which Postgres text cannot hold) replaced, empty optional text
 * made null, numbers made finite and non-negative (latencies to the microsecond), a session id that
 * is not a UUID dropped. The result can always be inserted, so one odd request can never block a batch. Idempotent.
 */
export function auditEvent(fields: AuditEventFields): AuditEvent {
  return {
    requestId: ownValue.requestId(fields.requestId),
    ts: ownValue.ts(fields.ts),
    sessionId: typeof fields.sessionId === 'string' && UUID.test(fields.sessionId) ? fields.sessionId.toLowerCase() : null,
    userIdentifier: text(fields.userIdentifier, L.userIdentifier),
    upstream: text(fields.upstream, L.upstream),
    method: (text(fields.method, L.method) ?? 'UNKNOWN').toUpperCase(),
    path: text(fields.path, L.path) ?? '',
    query: text(typeof fields.query === 'string' && fields.query.startsWith('?') ? fields.query.slice(1) : fields.query, L.query),
    action: text(fields.action, L.action) ?? UNKNOWN_ACTION,
    resourceType: text(fields.resourceType, L.resourceType),
    resourceId: text(fields.resourceId, L.resourceId),
    status: ownValue.status(fields.status),
    cacheOutcome: outcome(fields.cacheOutcome),
    cacheTier: text(fields.cacheTier, L.cacheTier),
    totalMs: ownValue.totalMs(fields.totalMs),
    upstreamMs: milliseconds(fields.upstreamMs),
    requestBytes: ownValue.bytes(fields.requestBytes),
    responseBytes: ownValue.bytes(fields.responseBytes),
    clientIp: text(fields.clientIp, L.clientIp),
    userAgent: text(fields.userAgent, L.userAgent),
    errorCode: text(fields.errorCode, L.errorCode),
  };
}

/** How auditEvent normalises the values every row has of its own (a HitRow normalises with these too). */
export const ownValue = {
  requestId: (value: unknown): string => text(value, L.requestId) ?? randomUUID(),
  ts: (value: unknown): number => timestamp(value),
  status: (value: unknown): number => integer(value, 999),
  totalMs: (value: unknown): number => milliseconds(value) ?? 0,
  bytes: (value: unknown): number => integer(value, Number.MAX_SAFE_INTEGER),
};

/** Text cut to `max` (never inside a surrogate pair), NUL replaced; null for a non-string or empty value. */
function text(value: unknown, max: number): string | null {
  if (typeof value !== 'string' || value === '') return null;
  let out = value.length > max ? value.slice(0, max) : value;
  if (out.length < value.length && /[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1);
  return out.includes('\u0000') ? out.replace(/\u0000/g, '\ufffd') : out;
}

/** Epoch ms as an integer a Date (and timestamptz) can hold; now when it is not one. */
function timestamp(value: unknown): number {
  return typeof value === 'number' && value >= 0 && value <= MAX_DATE_MS ? Math.round(value) : Date.now();
}

/** A count or status: a non-negative integer up to `max`, 0 when not a positive number. */
function integer(value: unknown, max: number): number {
  if (typeof value !== 'number' || !(value > 0)) return 0;
  return Math.min(Math.trunc(value), max);
}

/** A latency to the microsecond: `real` keeps about seven digits anyway, and short numbers are cheaper to write and parse. */
function milliseconds(value: unknown): number | null {
  if (typeof value !== 'number' || Number.isNaN(value)) return null;
  return value > 0 ? Math.min(Math.round(value * 1000) / 1000, MAX_REAL) : 0;
}

function outcome(value: unknown): CacheOutcome | null {
  if (typeof value !== 'string') return null;
  const upper = value.toUpperCase();
  return (CACHE_OUTCOMES as readonly string[]).includes(upper) ? (upper as CacheOutcome) : null;
}
