import type { AuditRoute } from '../audit/hit-row.js';
import type { TierName } from '../cache/store.js';
import type { RequestIdentity } from '../sessions/identity.js';
import type { StaleReason } from './events.js';

export type CacheOutcome = 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED' | 'BYPASS';

/**
 * What happened to one request; filled in as it goes and read by the access log and the audit
 * trail when the response has finished.
 */
export interface ProxyRecord {
  /** True once the request reached the proxy route (or was refused by it): it gets an audit row. */
  audited: boolean;
  /** Epoch ms when the request arrived. */
  readonly startedAt: number;
  upstream: string | null;
  rule: string | null;
  /** Upstream-relative path once routed, else the request path. */
  path: string | null;
  /** Raw query (redacted before it is logged or audited). */
  query: string;
  /**
   * What the URL puts in the audit row (secret query values redacted), normalised and encoded
   * ahead: the hit lane works it out once per URL. Undefined: the row is built from this record.
   */
  auditRoute: AuditRoute | undefined;
  identity: RequestIdentity | null;
  sessionId: string | null;
  action: string | null;
  resourceType: string | null;
  resourceId: string | null;
  cache: CacheOutcome | null;
  /** With `cache` STALE: why the stale entry answered. */
  staleReason: StaleReason | null;
  tier: TierName | null;
  /** Time spent waiting for the upstream's response headers, in ms. */
  upstreamMs: number | null;
  /** Request body bytes read from the client. */
  requestBytes: number;
  /** Response body bytes, counted when the response is streamed without a Content-Length. */
  responseBytes: number | null;
  errorCode: string | null;
}

export function newProxyRecord(startedAt: number): ProxyRecord {
  return {
    audited: false,
    startedAt,
    upstream: null,
    rule: null,
    path: null,
    query: '',
    auditRoute: undefined,
    identity: null,
    sessionId: null,
    action: null,
    resourceType: null,
    resourceId: null,
    cache: null,
    staleReason: null,
    tier: null,
    upstreamMs: null,
    requestBytes: 0,
    responseBytes: null,
    errorCode: null,
  };
}
