import { headerValue } from '../proxy/headers.js';

/** Who a request is on behalf of, as far as cache partitioning is concerned. */
export interface RequestIdentity {
  /** The caller's credential: `Authorization`, else `Cookie`; undefined for anonymous calls. */
  readonly credential: string | undefined;
  /** The app's session token (header configured by `server.sessionHeader`). */
  readonly sessionToken: string | undefined;
}

/** Reads the identity-bearing headers of a request (pure; never logged, only hashed). */
export function requestIdentity(
  headers: Record<string, string | string[] | undefined>,
  sessionHeader: string,
): RequestIdentity {
  return {
    credential: headerValue(headers, 'authorization') ?? headerValue(headers, 'cookie'),
    sessionToken: headerValue(headers, sessionHeader),
  };
}
