import { createHmac } from 'node:crypto';
import type { SessionsConfig } from '../config/types.js';
import { headerValue } from '../http/fields.js';

/**
 * Request headers -> who the request is on behalf of (pure). Values read here are never logged:
 * the cache key and the session store only ever keep keyed hashes of them.
 */

type Headers = Record<string, string | string[] | undefined>;

/** Longest session token (and user identifier) accepted, in characters. */
const MAX_SESSION_TOKEN_LENGTH = 256;
const MAX_USER_IDENTIFIER_LENGTH = 256;

/** Who a request is on behalf of, as far as cache partitioning and sessions are concerned. */
export interface RequestIdentity {
  /** The caller's credentials (`Authorization` and `Cookie`, each tagged with its source); undefined for anonymous calls. */
  readonly credential: string | undefined;
  /** The app's session token (the `sessions.header` header, else the `sessions.cookie` cookie); not yet validated. */
  readonly sessionToken: string | undefined;
  /** The app's user identifier (`sessions.userHeader`), trimmed; null when absent or unusable. */
  readonly userIdentifier: string | null;
}

/** Where a session token was found. */
export type SessionTokenSource = 'header' | 'cookie' | null;

/** Verdict on a session token: the proxy answers 400 `invalid_session_token` unless 'ok'. */
export type SessionTokenValidity = 'ok' | 'too_long' | 'bad_characters';

/** Reads the identity-bearing headers of a request. */
export function requestIdentity(headers: Headers, sessions: SessionsConfig): RequestIdentity {
  return {
    credential: requestCredential(headers),
    sessionToken: readSessionToken(headers, sessions).token,
    userIdentifier: readUserIdentifier(headers, sessions),
  };
}

/**
 * The caller's credential for cache partitioning: every credential-bearing header the request
 * carries (`Authorization` and `Cookie`, both forwarded upstream), each named by its source, so a
 * `Cookie` equal to someone's `Authorization` value is a different credential. Undefined: anonymous.
 */
export function requestCredential(headers: Headers): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  const cookie = headerValue(headers, 'cookie');
  if (authorization === undefined && cookie === undefined) return undefined;
  // JSON strings are self-delimiting: no pair of header values can spell another pair.
  const parts: string[] = [];
  if (authorization !== undefined) parts.push(`authorization:${JSON.stringify(authorization)}`);
  if (cookie !== undefined) parts.push(`cookie:${JSON.stringify(cookie)}`);
  return parts.join(' ');
}

/**
 * The session token from the configured header, else from the configured cookie. An empty value
 * counts as absent. Repeated headers are joined with ", ", which validation then rejects.
 */
export function readSessionToken(headers: Headers, config: SessionsConfig): { token: string | undefined; source: SessionTokenSource } {
  const header = headerValue(headers, config.header.toLowerCase());
  if (header !== undefined && header !== '') return { token: header, source: 'header' };
  if (config.cookie !== null) {
    const cookie = cookieValue(headerValue(headers, 'cookie'), config.cookie);
    if (cookie !== undefined && cookie !== '') return { token: cookie, source: 'cookie' };
  }
  return { token: undefined, source: null };
}

/** A token is at most 256 characters of visible ASCII (0x21-0x7E): no spaces, controls or non-ASCII. */
export function validateSessionToken(token: string): SessionTokenValidity {
  if (token.length > MAX_SESSION_TOKEN_LENGTH) return 'too_long';
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return 'bad_characters';
  }
  return 'ok';
}

/**
 * The user identifier header, trimmed and cut to 256 characters; null when absent, empty or
 * carrying control characters (C0, DEL, C1), which could forge log lines or audit rows.
 */
export function readUserIdentifier(headers: Headers, config: SessionsConfig): string | null {
  const raw = headerValue(headers, config.userHeader.toLowerCase());
  if (raw === undefined) return null;
  let value = raw.trim();
  if (value === '' || /[\u0000-\u001f\u007f-\u009f]/.test(value)) return null;
  if (value.length > MAX_USER_IDENTIFIER_LENGTH) {
    value = value.slice(0, MAX_USER_IDENTIFIER_LENGTH);
    // Never end on half a surrogate pair: the result must stay valid UTF-16 (and UTF-8 in Postgres).
    if (/[\ud800-\udbff]$/.test(value)) value = value.slice(0, -1);
  }
  return value;
}

/** Request headers that carry identity and are removed before forwarding, unless `forwardIdentityHeaders`. */
export function identityHeadersToStrip(config: SessionsConfig): readonly string[] {
  return config.forwardIdentityHeaders ? [] : [config.header.toLowerCase(), config.userHeader.toLowerCase()];
}

/**
 * One cookie's value from a Cookie header (RFC 6265 §5.4 serialisation: `name=value; name=value`).
 * The first pair with the name wins; a value in double quotes is unquoted; no percent-decoding,
 * as the token is opaque. Pairs without `=` are skipped.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

/** The session id of a token: HMAC-SHA256(secret, "session:" + token) shaped as an RFC 9562 version-4 UUID. */
export function sessionIdFor(secret: string, token: string): string {
  const bytes = createHmac('sha256', secret).update(`session:${token}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What `user_sessions.token_hash` holds: HMAC-SHA256(secret, token), hex. */
export function tokenHashFor(secret: string, token: string): string {
  return createHmac('sha256', secret).update(token).digest('hex');
}
