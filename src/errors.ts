/** The one catalogue of errors sidecache answers with: stable code, HTTP status, default message. */

export const errorCatalogue = {
  bad_request_target: { status: 400, message: 'request target must be origin-form (a path starting with "/")' },
  path_traversal: { status: 400, message: 'path escapes the upstream prefix' },
  invalid_path: { status: 400, message: 'path contains characters sidecache refuses to forward' },
  ambiguous_path: { status: 400, message: 'path has a form upstream servers read differently (a leading "//", a doubly-encoded or ";"-suffixed dot-segment)' },
  request_not_forwardable: { status: 400, message: 'sidecache cannot build this request for the upstream (e.g. a header value with CR or LF); nothing was sent' },
  invalid_request: { status: 400, message: 'the request is malformed' },
  invalid_session_token: { status: 400, message: 'the session token is malformed' },
  client_malformed_request: { status: 400, message: 'the client sent a request HTTP/1.1 cannot parse (bad request line, header or chunked framing)' },
  request_timeout: { status: 408, message: 'the client did not send the request head in time' },
  request_body_timeout: { status: 408, message: 'the client stopped sending the request body, or sent it slower than the minimum rate' },
  request_header_too_large: { status: 431, message: 'the request line and headers exceed the configured limit (server.maxHeaderBytes)' },
  // Never sent (the client is gone); 499 is nginx's "client closed request". The audit row shows the status actually sent, 0 for none.
  client_aborted: { status: 499, message: 'the client closed the connection before the exchange was complete' },
  no_upstream: { status: 404, message: 'no upstream is configured for this path' },
  method_not_supported: { status: 405, message: 'this HTTP method is not supported by sidecache' },
  only_if_cached: { status: 504, message: 'the request is only-if-cached and no stored response satisfies it (RFC 9111 §5.2.1.7)' },
  not_acceptable: { status: 406, message: 'the response cannot be sent in any content coding the client accepts (Accept-Encoding)' },
  request_body_too_large: { status: 413, message: 'request body exceeds the configured limit' },
  invalidation_matches_nothing: { status: 422, message: 'this invalidation target cannot match any cache entry' },
  audit_unavailable: { status: 503, message: 'the audit trail is unavailable' },
  audit_spool_pending: { status: 503, message: 'audit rows spooled during a database outage are still being replayed; retry once they are in (an erase must reach them too)' },
  cache_unavailable: { status: 503, message: 'the cache tier this needs is unavailable' },
  unauthorized: { status: 401, message: 'an admin token is required: Authorization: Bearer <ADMIN_TOKEN>' },
  forbidden: { status: 403, message: 'the admin token is wrong' },
  not_found: { status: 404, message: 'no admin route matches this method and path' },
  session_not_found: { status: 404, message: 'no session has this id' },
  upstream_disabled: { status: 503, message: 'upstream is configured but has no target URL' },
  upstream_unreachable: { status: 502, message: 'could not connect to the upstream' },
  upstream_connection_reset: { status: 502, message: 'the upstream closed the connection before answering' },
  upstream_bad_response: { status: 502, message: 'the upstream sent an invalid response' },
  upstream_undecodable_body: { status: 502, message: "the upstream's body could not be decoded from its Content-Encoding for a client that does not accept that coding" },
  upstream_timeout: { status: 504, message: 'the upstream did not answer in time' },
  upstream_saturated: { status: 503, message: 'the upstream is at its concurrency limit; try again shortly' },
  upstream_circuit_open: { status: 503, message: 'the upstream is failing; calls to it are paused' },
  upstream_throttled: { status: 503, message: 'the upstream asked sidecache to back off (429 / Retry-After)' },
  rate_limited: { status: 429, message: 'too many requests; slow down' },
  internal_error: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error with a catalogued code; the error handler turns it into `{error, message, requestId}`. */
export class SidecacheError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** When the client may try again (sent as `Retry-After`), or null. */
  readonly retryAfterMs: number | null;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retryAfterMs?: number | null }) {
    super(message ?? errorCatalogue[code].message, options);
    this.name = 'SidecacheError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.retryAfterMs = options?.retryAfterMs ?? null;
  }
}

/** JSON body sent for an error response. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
  requestId: string;
}

export function errorBody(err: SidecacheError, requestId: string): ErrorBody {
  return { error: err.code, message: err.message, requestId };
}

/** Who a failed request is blamed on in logs: the client, the upstream, or sidecache itself. */
export type FailingParty = 'client' | 'upstream' | 'sidecache';

const UPSTREAM_FAULTS: ReadonlySet<string> = new Set<ErrorCode>([
  'upstream_unreachable', 'upstream_connection_reset', 'upstream_bad_response', 'upstream_timeout',
  'upstream_saturated', 'upstream_circuit_open', 'upstream_throttled',
]);

/** The party a catalogued error code blames: 4xx codes the client, upstream failures and refusals the upstream, the rest sidecache. */
export function failingParty(code: string): FailingParty {
  if (UPSTREAM_FAULTS.has(code)) return 'upstream';
  // A 504 the client asked for: nothing stored satisfies its only-if-cached.
  if (code === 'only_if_cached') return 'client';
  const entry = (errorCatalogue as Record<string, { status: number } | undefined>)[code];
  return entry !== undefined && entry.status >= 400 && entry.status < 500 ? 'client' : 'sidecache';
}
