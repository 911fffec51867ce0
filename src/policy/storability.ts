import type { CacheRuleConfig } from '../config/types.js';
import type { StoredHeaders } from '../cache/entry.js';
import { headerValue, parseCacheControl } from '../http/fields.js';

/** Why a response was or was not stored; surfaces in `Cache-Status` detail and logs. */
export type StoreDecision =
  | { readonly store: true; readonly ttlMs: number }
  | { readonly store: false; readonly reason: 'status' | 'set-cookie' | 'no-store' | 'private' | 'vary' | 'max-age' };

/** Upstream max-age is honoured up to a day (invalidation epochs are kept that long at least). */
export const MAX_RESPECTED_TTL_MS = 86_400_000;

/** What the client asked of the cache (RFC 9111 §5.2.1, with `Pragma` as the §5.4 fallback). */
export interface ClientDirectives {
  readonly noCache: boolean;
  readonly noStore: boolean;
}

export function clientDirectives(headers: Record<string, string | string[] | undefined>): ClientDirectives {
  const cacheControl = headerValue(headers, 'cache-control');
  if (cacheControl === undefined) {
    const pragma = headerValue(headers, 'pragma');
    return { noCache: pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma), noStore: false };
  }
  const directives = parseCacheControl(cacheControl);
  return {
    noCache: directives.has('no-cache') || directives.get('max-age') === '0',
    noStore: directives.has('no-store'),
  };
}

/**
 * Decides whether a response may be stored under a rule. The rule's ttl overrides upstream
 * `Cache-Control` unless `respectCacheControl` is set (Salesforce sends `no-cache` on
 * everything); `Set-Cookie` always prevents storing, and so does a `Vary` the key does not cover.
 */
export function decideStore(
  rule: CacheRuleConfig,
  status: number,
  headers: StoredHeaders,
  keyVary: ReadonlySet<string>,
): StoreDecision {
  let ttlMs: number;
  if (rule.statuses.includes(status)) ttlMs = rule.ttlMs;
  else if (status === 404 && rule.negativeTtlMs !== null) ttlMs = rule.negativeTtlMs;
  else return { store: false, reason: 'status' };

  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };

  const vary = headerValue(headers, 'vary');
  if (vary !== undefined) {
    for (const field of vary.split(',')) {
      const name = field.trim().toLowerCase();
      // The cache asks with its own Accept-Encoding and re-codes per client (content-coding.ts).
      if (name !== '' && name !== 'accept-encoding' && !keyVary.has(name)) return { store: false, reason: 'vary' };
    }
  }

  if (rule.respectCacheControl) {
    const cacheControl = headerValue(headers, 'cache-control');
    if (cacheControl !== undefined) {
      const directives = parseCacheControl(cacheControl);
      if (directives.has('no-store') || directives.has('no-cache')) return { store: false, reason: 'no-store' };
      if (directives.has('private')) return { store: false, reason: 'private' };
      // §5.2.2.10: s-maxage overrides max-age for a shared cache.
      const maxAge = Number(directives.get('s-maxage') ?? directives.get('max-age') ?? Number.NaN);
      if (Number.isFinite(maxAge)) {
        if (maxAge <= 0) return { store: false, reason: 'max-age' };
        ttlMs = Math.min(maxAge * 1000, MAX_RESPECTED_TTL_MS);
      }
    }
  }
  return { store: true, ttlMs };
}
