import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEventFields } from '../audit/events.js';
import { redactQuery } from '../policy/query.js';
import type { ProxyRecord } from '../proxy/record.js';

/**
 * The audit row for a finished request, from its record: no bodies, no credentials, secret
 * query values redacted. A request refused before routing keeps its raw path.
 *
 * Runs on every response, so it only gathers the fields: the writer's `record()` normalises
 * them (auditEvent: limits, NULs, types) once, as it takes the event.
 */
export function auditEventFor(
  request: FastifyRequest,
  reply: FastifyReply,
  record: ProxyRecord,
  redactQueryParams: ReadonlySet<string>,
): AuditEventFields {
  const url = request.raw.url ?? '';
  const q = url.indexOf('?');
  const rawQuery = record.path === null && q !== -1 ? url.slice(q + 1) : record.query;
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id,
    ts: record.startedAt,
    sessionId: record.sessionId,
    userIdentifier: record.identity?.userIdentifier ?? null,
    upstream: record.upstream,
    method: request.method,
    path: record.path ?? (q === -1 ? url : url.slice(0, q)),
    query: rawQuery === '' ? null : redactQuery(rawQuery, redactQueryParams),
    action: record.action ?? (record.upstream === null ? 'refused' : `${record.upstream}.${request.method.toLowerCase()}`),
    resourceType: record.resourceType,
    resourceId: record.resourceId,
    status: reply.statusCode,
    cacheOutcome: record.cache,
    cacheTier: record.tier,
    totalMs: reply.elapsedTime,
    upstreamMs: record.upstreamMs,
    requestBytes: record.requestBytes,
    responseBytes: record.responseBytes ?? contentLength(reply),
    clientIp: request.ip,
    userAgent: typeof userAgent === 'string' ? userAgent : null,
    errorCode: record.errorCode,
  };
}

function contentLength(reply: FastifyReply): number {
  const value = Number(reply.getHeader('content-length'));
  return Number.isFinite(value) ? value : 0;
}
