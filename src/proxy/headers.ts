import type { HeaderRewriteConfig } from '../config/types.js';
import type { StoredHeaders } from '../cache/entry.js';

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

/** Field names listed in a `Connection` header, which are hop-by-hop for this message too. */
export function connectionTokens(value: string | string[] | undefined): Set<string> {
  const tokens = new Set<string>();
  if (value === undefined) return tokens;
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) tokens.add(name);
    }
  }
  return tokens;
}

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

/** Reads one request header as a single string (repeated values joined per RFC 9110 §5.3). */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
