import type { AuditEventFields } from '../audit/events.js';
import { auditRoute, HitRow, type AuditCaller, type AuditRoute } from '../audit/hit-row.js';
import { redactQuery } from '../policy/redaction.js';
import type { ProxyRecord } from '../proxy/record.js';

/** What is known of a request once its response has finished, whichever path served it. */
export interface FinishedRequest {
  readonly id: string;
  readonly method: string;
  /** The raw request target. */
  readonly url: string;
  readonly status: number;
  readonly elapsedMs: number;
  readonly clientIp: string | undefined;
  readonly userAgent: string | string[] | undefined;
  /** The response's Content-Length (0 when it had none). */
  readonly contentLength: number;
}

/**
 * The audit row for a finished request, from its record: no bodies, no credentials, secret
 * query values redacted. A request refused before routing keeps its raw path.
 *
 * Runs on every response, so it only gathers the fields: the writer normalises them
 * (auditEvent: limits, NULs, types) in batches, off the response path.
 */
export function auditEventFor(finished: FinishedRequest, record: ProxyRecord, redactQueryParams: ReadonlySet<string>): AuditEventFields {
  const { url, method } = finished;
  const route = record.auditRoute ?? auditRouteFields(record, method, url, redactQueryParams);
  return {
    requestId: finished.id,
    ts: record.startedAt,
    sessionId: record.sessionId,
    userIdentifier: record.identity?.userIdentifier ?? null,
    upstream: route.upstream ?? null,
    method: route.method,
    path: route.path,
    query: route.query ?? null,
    action: route.action,
    resourceType: route.resourceType ?? null,
    resourceId: route.resourceId ?? null,
    status: finished.status,
    cacheOutcome: record.cache,
    cacheTier: record.tier,
    totalMs: finished.elapsedMs,
    upstreamMs: record.upstreamMs,
    requestBytes: record.requestBytes,
    responseBytes: record.responseBytes ?? finished.contentLength,
    clientIp: finished.clientIp,
    userAgent: typeof finished.userAgent === 'string' ? finished.userAgent : null,
    errorCode: record.errorCode,
  };
}

/** What the request's URL puts in its audit row; a request refused before routing keeps its raw path. */
function auditRouteFields(record: ProxyRecord, method: string, url: string, redactQueryParams: ReadonlySet<string>) {
  const q = url.indexOf('?');
  const rawQuery = record.path === null && q !== -1 ? url.slice(q + 1) : record.query;
  return {
    upstream: record.upstream,
    method,
    path: record.path ?? (q === -1 ? url : url.slice(0, q)),
    query: rawQuery === '' ? null : redactQuery(rawQuery, redactQueryParams),
    action: record.action ?? (record.upstream === null ? 'refused' : `${record.upstream}.${method.toLowerCase()}`),
    resourceType: record.resourceType,
    resourceId: record.resourceId,
  };
}

/** The URL part of the audit row of a routed request (the hit lane keeps it per URL). */
export function auditRouteFor(record: ProxyRecord, method: string, url: string, redactQueryParams: ReadonlySet<string>): AuditRoute {
  return auditRoute(auditRouteFields(record, method, url, redactQueryParams));
}

/** Where a hit row's caller part comes from (the AuditWriter). */
export interface AuditCallers {
  caller(sessionId: string | null, userIdentifier: string | null, clientIp: string | undefined, userAgent: string | null): AuditCaller;
}

/**
 * The audit row for a finished request: a memory hit with its URL part worked out ahead (the hit
 * lane) is a HitRow, a few field writes; anything else the fields of auditEventFor.
 */
export function auditRowFor(finished: FinishedRequest, record: ProxyRecord, redactQueryParams: ReadonlySet<string>, callers: AuditCallers): AuditEventFields | HitRow {
  const route = record.auditRoute;
  if (route === undefined || record.cache !== 'HIT' || record.tier !== 'memory' || record.upstreamMs !== null || record.requestBytes !== 0 || record.errorCode !== null) {
    return auditEventFor(finished, record, redactQueryParams);
  }
  const userAgent = typeof finished.userAgent === 'string' ? finished.userAgent : null;
  const caller = callers.caller(record.sessionId, record.identity?.userIdentifier ?? null, finished.clientIp, userAgent);
  return new HitRow(finished.id, record.startedAt, finished.status, finished.elapsedMs, record.responseBytes ?? finished.contentLength, route, caller);
}
