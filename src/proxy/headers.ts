import type { HeaderRewriteConfig } from '../config/types.js';
import type { StoredHeaders } from '../cache/entry.js';
import { upstreamHeaderValue } from '../policy/negotiation.js';
import { connectionTokens, rawValue } from '../http/fields.js';
import { VERSION } from '../version.js';

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) plus the proxy-auth pair (§11.7), which belong to one
 * connection and are never forwarded. `host` is rebuilt by the client from the upstream origin.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Also removed before a response is stored: recomputed when served (`age`, `content-length`). */
const NOT_STORED = new Set([...HOP_BY_HOP, 'content-length', 'age', 'set-cookie']);

/** Per-upstream request header rewrite, compiled once at boot. */
export interface RequestHeaderPlan {
  readonly remove: ReadonlySet<string>;
  /** Flat [name, value, name, value…] pairs appended after the client's headers. */
  readonly add: readonly string[];
}

export function compileRequestHeaderPlan(rewrite: HeaderRewriteConfig, extraRemove: readonly string[]): RequestHeaderPlan {
  const remove = new Set<string>(['host', ...rewrite.remove, ...extraRemove, ...Object.keys(rewrite.add)]);
  const add: string[] = [];
  for (const [name, value] of Object.entries(rewrite.add)) add.push(name, value);
  return { remove, add };
}

/**
 * Builds the flat header list sent upstream from the client's raw headers, keeping repeated
 * fields and their order, minus hop-by-hop fields, `host`, and what the upstream config removes.
 */
export function forwardRequestHeaders(rawHeaders: readonly string[], plan: RequestHeaderPlan, requestId: string): string[] {
  let connection: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      connection = connectionTokens([...(connection ?? []), rawHeaders[i + 1]!].join(','));
    }
  }
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || plan.remove.has(lower) || connection?.has(lower) || lower === 'x-request-id') continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  out.push(...plan.add, 'x-request-id', requestId);
  return out;
}

/**
 * Client headers a cacheable request forwards although no vary list names them, because they
 * cannot make the upstream answer differently: the credentials (keyed through the partition in
 * `authorization` scope; the rule's scope declares them irrelevant to the answer otherwise) and
 * W3C trace context.
 */
const UNKEYED_FORWARDED: readonly string[] = ['authorization', 'cookie', 'traceparent', 'tracestate'];

/** Forwarded too when the request body is part of the key: both are hashed with it. */
const BODY_KEYED_FORWARDED: readonly string[] = ['content-type', 'content-encoding'];

/** Sent on cacheable requests instead of the client's (which is not keyed and can change answers). */
export const PROXY_USER_AGENT = `sidecache/${VERSION}`;

/** What decides which client headers a cacheable request sends upstream. */
export interface KeyedForwarding {
  /** The key's vary headers (lower case). */
  readonly vary: readonly string[];
  /** Media types the upstream serves, for `Accept` negotiation (empty: `Accept` goes as sent). */
  readonly mediaTypes: readonly string[];
  /** The request body is part of the key. */
  readonly bodyKeyed: boolean;
}

/**
 * The header list of a cacheable request (one whose answer is stored and replayed to others):
 * a client header goes upstream only when the key covers it (the vary list, each with the value
 * it was keyed by) or it is on `UNKEYED_FORWARDED` (and `BODY_KEYED_FORWARDED` for a keyed body).
 * Every other client header is dropped, so nothing outside the key can change a stored answer.
 * Then the proxy's own `User-Agent` (unless the config adds one or the key covers the client's),
 * the upstream's `requestHeaders.add` and the request id. Values are read as Node joins repeated
 * fields, which is how they were keyed, and sent as one field each.
 */
export function cacheableRequestHeaders(rawHeaders: readonly string[], plan: RequestHeaderPlan, requestId: string, keyed: KeyedForwarding): string[] {
  const connection = connectionTokens(rawValue(rawHeaders, 'connection'));
  const out: string[] = [];
  const send = (name: string, value: string | undefined) => {
    if (value === undefined || HOP_BY_HOP.has(name) || plan.remove.has(name) || connection.has(name) || name === 'x-request-id') return;
    out.push(name, value);
  };
  for (const name of keyed.vary) send(name, upstreamHeaderValue(name, rawValue(rawHeaders, name), keyed.mediaTypes));
  for (const name of UNKEYED_FORWARDED) send(name, rawValue(rawHeaders, name));
  if (keyed.bodyKeyed) for (const name of BODY_KEYED_FORWARDED) send(name, rawValue(rawHeaders, name));
  if (!plan.remove.has('user-agent') && !keyed.vary.includes('user-agent')) out.push('user-agent', PROXY_USER_AGENT);
  out.push(...plan.add, 'x-request-id', requestId);
  return out;
}

/** Response headers as received from undici, minus hop-by-hop fields; repeated fields stay arrays. */
export function forwardResponseHeaders(headers: Record<string, string | string[] | undefined>): StoredHeaders {
  const connection = connectionTokens(headers['connection']);
  const out: StoredHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || connection.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The subset of response headers worth storing with a cache entry. */
export function storableResponseHeaders(headers: StoredHeaders): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name in headers) {
    if (!NOT_STORED.has(name)) out[name] = headers[name]!;
  }
  return out;
}
