import type { AuditEventFields } from '../audit/events.js';
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
  const q = url.indexOf('?');
  const rawQuery = record.path === null && q !== -1 ? url.slice(q + 1) : record.query;
  return {
    requestId: finished.id,
    ts: record.startedAt,
    sessionId: record.sessionId,
    userIdentifier: record.identity?.userIdentifier ?? null,
    upstream: record.upstream,
    method,
    path: record.path ?? (q === -1 ? url : url.slice(0, q)),
    query: record.auditQuery !== undefined ? record.auditQuery : rawQuery === '' ? null : redactQuery(rawQuery, redactQueryParams),
    action: record.action ?? (record.upstream === null ? 'refused' : `${record.upstream}.${method.toLowerCase()}`),
    resourceType: record.resourceType,
    resourceId: record.resourceId,
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
