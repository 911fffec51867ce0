import type { FastifyBaseLogger } from 'fastify';
import type { AuditWriter } from '../audit/writer.js';
import { failingParty } from '../errors.js';
import { redactUrl } from '../policy/redaction.js';
import type { ProxyEvents } from '../proxy/events.js';
import type { ProxyRecord } from '../proxy/record.js';
import { auditRowFor, type FinishedRequest } from './audit-event.js';

/** Where a finished request is reported: the audit trail, the metrics and the access log. */
export interface CompletionSinks {
  readonly audit: AuditWriter | null;
  readonly events?: Pick<ProxyEvents, 'requestCompleted'>;
  readonly log: FastifyBaseLogger;
  readonly redactQueryParams: ReadonlySet<string>;
  /** Told of each request answered without an upstream call: a HIT, or STALE for quota (README, "calls saved"). */
  readonly callSaved?: (upstream: string) => void;
}

/** Reports finished requests; one call per request, whether Fastify or the hit lane served it. */
export type CompleteRequest = (finished: FinishedRequest, record: ProxyRecord) => void;

/**
 * One audit row (for requests that reached the proxy route), one metrics observation and, at
 * info level, one access-log line (credentials never logged, secret query values redacted).
 */
export function requestCompletion(sinks: CompletionSinks): CompleteRequest {
  const { audit, events, log, redactQueryParams, callSaved } = sinks;
  const accessLog = ['info', 'debug', 'trace'].includes(log.level);
  return (finished, record) => {
    if (record.audited) {
      if (audit !== null) audit.record(auditRowFor(finished, record, redactQueryParams, audit));
      events?.requestCompleted(record.upstream, finished.method, finished.status, record.cache, finished.elapsedMs / 1000, record.tier);
      if ((record.cache === 'HIT' || record.staleReason === 'quota') && record.upstream !== null) callSaved?.(record.upstream);
    }
    if (!accessLog) return;
    log.info(
      {
        reqId: finished.id,
        method: finished.method,
        url: redactUrl(finished.url, redactQueryParams),
        status: finished.status,
        upstream: record.upstream,
        rule: record.rule,
        cache: record.cache,
        tier: record.tier,
        upstreamMs: record.upstreamMs === null ? null : Math.round(record.upstreamMs * 10) / 10,
        durationMs: Math.round(finished.elapsedMs * 10) / 10,
        error: record.errorCode,
        // Who failed: the client (aborted, malformed, too slow), the upstream, or sidecache.
        failed: record.errorCode === null ? null : failingParty(record.errorCode),
      },
      'request completed',
    );
  };
}
