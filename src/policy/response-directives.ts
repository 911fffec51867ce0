import type { StoredHeaders } from '../cache/entry.js';
import { cacheControlList, headerValue } from '../http/fields.js';

/**
 * Targeted cache-control fields this cache obeys instead of `Cache-Control` (RFC 9213 §2.2), most
 * specific first: its own name, then the one every CDN-like cache honours.
 */
export const TARGETED_FIELDS = ['sidecache-cache-control', 'cdn-cache-control'] as const;

/** What a response's caching fields tell a shared cache (RFC 9111 §5.2.2, RFC 5861, RFC 9213). */
export interface ResponseDirectives {
  readonly noStore: boolean;
  /** Unqualified `no-cache`: may be stored, but every use is validated first (§5.2.2.4). */
  readonly noCache: boolean;
  /** Unqualified `private`: a shared cache must not store it (§5.2.2.7). */
  readonly private: boolean;
  readonly public: boolean;
  /**
   * Fields named by `no-cache="…"` or `private="…"`: never sent from the cache without
   * revalidation, which this cache ensures by not storing them (lower case).
   */
  readonly withheldFields: readonly string[];
  /** `must-revalidate`, `proxy-revalidate`, or `s-maxage` (§5.2.2.10): never served stale. */
  readonly mustRevalidate: boolean;
  /** `s-maxage` or `must-revalidate` or `public`: one of the §3.5 permissions to share an authorised answer. */
  readonly sharesAuthorized: boolean;
  readonly mustUnderstand: boolean;
  /**
   * The explicit freshness lifetime in ms from `s-maxage`, else `max-age`; null when neither is
   * present; 0 when the value is invalid or given twice with different values (§4.2.1: stale).
   */
  readonly maxAgeMs: number | null;
  /** RFC 5861 windows past freshness, 0 when absent or when `mustRevalidate`/`noCache` forbid stale use. */
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
}

/** delta-seconds above this are read as this (RFC 9111 §1.2.2). */
const MAX_DELTA_SECONDS = 2_147_483_648;

/** The caching directives of a response, from its targeted field when it has a valid one. */
export function responseDirectives(headers: StoredHeaders): ResponseDirectives {
  let list: Array<[string, string]> | null = null;
  for (const field of TARGETED_FIELDS) {
    const value = headerValue(headers, field);
    if (value === undefined) continue;
    const parsed = cacheControlList(value);
    // An unparseable targeted field is ignored, and the next one (or Cache-Control) applies (§2.1).
    if (parsed.length > 0 && parsed.every(([name]) => /^[a-z0-9*_.-]+$/.test(name))) {
      list = parsed;
      break;
    }
  }
  list ??= cacheControlList(headerValue(headers, 'cache-control') ?? '');

  const values = new Map<string, string[]>();
  for (const [name, value] of list) {
    const seen = values.get(name);
    if (seen === undefined) values.set(name, [value]);
    else seen.push(value);
  }
  const has = (name: string) => values.has(name);
  const withheldFields: string[] = [];
  let noCache = false;
  let isPrivate = false;
  for (const value of values.get('no-cache') ?? []) {
    if (value === '') noCache = true;
    else withheldFields.push(...fieldNames(value));
  }
  for (const value of values.get('private') ?? []) {
    if (value === '') isPrivate = true;
    else withheldFields.push(...fieldNames(value));
  }
  const sMaxAge = values.get('s-maxage');
  const maxAgeMs = deltaMs(sMaxAge ?? values.get('max-age'));
  const mustRevalidate = has('must-revalidate') || has('proxy-revalidate') || sMaxAge !== undefined;
  const staleAllowed = !mustRevalidate && !noCache;
  return {
    noStore: has('no-store'),
    noCache,
    private: isPrivate,
    public: has('public'),
    withheldFields,
    mustRevalidate,
    sharesAuthorized: has('public') || has('must-revalidate') || sMaxAge !== undefined,
    mustUnderstand: has('must-understand'),
    maxAgeMs,
    staleWhileRevalidateMs: staleAllowed ? (deltaMs(values.get('stale-while-revalidate')) ?? 0) : 0,
    staleIfErrorMs: staleAllowed ? (deltaMs(values.get('stale-if-error')) ?? 0) : 0,
  };
}

/** A delta-seconds directive in ms: null when absent, 0 when invalid or contradicting itself. */
function deltaMs(values: readonly string[] | undefined): number | null {
  if (values === undefined) return null;
  const first = values[0]!;
  if (!/^\d+$/.test(first) || values.some((v) => v !== first)) return 0;
  return Math.min(Number(first), MAX_DELTA_SECONDS) * 1000;
}

function fieldNames(value: string): string[] {
  return value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}
