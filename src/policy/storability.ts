import type { CacheRuleConfig } from '../config/types.js';
import type { StoredHeaders } from '../cache/entry.js';
import { headerValue, parseCacheControl } from '../http/fields.js';
import { freshnessLifetimeMs, HEURISTICALLY_CACHEABLE, initialAgeMs, type ExchangeTimes } from './age.js';
import { staleWindowMs } from './freshness.js';
import { responseDirectives } from './response-directives.js';

/** Why a response was or was not stored; surfaces in `Cache-Status` detail and logs. */
export type StoreDecision =
  | {
      readonly store: true;
      /** Fresh for this long from the request time (may be <= 0: stored stale, to revalidate). */
      readonly ttlMs: number;
      /** Kept this long past freshness: stale windows, or (standards mode) for revalidation. */
      readonly keepMs: number;
      /** The response's age when the request was sent (see `initialAgeMs`), stored as its `Age`. */
      readonly ageMs: number;
      /** Fields not stored (`no-cache="…"`, `private="…"`): never sent from the cache unvalidated. */
      readonly withheld: readonly string[];
    }
  | { readonly store: false; readonly reason: NotStoredReason };

export type NotStoredReason = 'status' | 'set-cookie' | 'no-store' | 'private' | 'vary' | 'max-age' | 'authorization';

/** Upstream max-age is honoured up to a day (invalidation epochs are kept that long at least). */
export const MAX_RESPECTED_TTL_MS = 86_400_000;

/** The response as received, with what the cache knows of the request it answers. */
export interface StoreCandidate {
  readonly status: number;
  readonly headers: StoredHeaders;
  readonly times: ExchangeTimes;
  /** Request headers the key varies on (API mode): a response varying on others is not stored. */
  readonly keyVary: ReadonlySet<string>;
  /** The request carried `Authorization` (RFC 9111 §3.5). */
  readonly authorized: boolean;
}

/**
 * Decides whether a response may be stored under a rule, and for how long. API mode (`freshness:
 * rule`): the rule's ttl overrides upstream `Cache-Control` unless `respectCacheControl` is set
 * (Salesforce sends `no-cache` on everything). Standards mode (`freshness: origin`): RFC 9111 §3.
 * In both, `Set-Cookie` prevents storing (a cookie belongs to one client).
 */
export function decideStore(rule: CacheRuleConfig, response: StoreCandidate): StoreDecision {
  if (response.headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };
  return rule.freshness === 'origin' ? decideOriginStore(rule, response) : decideRuleStore(rule, response);
}

function decideRuleStore(rule: CacheRuleConfig, response: StoreCandidate): StoreDecision {
  const { status, headers, keyVary } = response;
  let ttlMs: number;
  if (rule.statuses.includes(status)) ttlMs = rule.ttlMs;
  else if (status === 404 && rule.negativeTtlMs !== null) ttlMs = rule.negativeTtlMs;
  else return { store: false, reason: 'status' };

  for (const name of varyNames(headers)) {
    // The cache asks with its own Accept-Encoding and re-codes per client (content-coding.ts).
    if (name !== 'accept-encoding' && !keyVary.has(name)) return { store: false, reason: 'vary' };
  }

  const ageMs = initialAgeMs(headers, response.times);
  if (rule.respectCacheControl) {
    const cacheControl = headerValue(headers, 'cache-control');
    if (cacheControl !== undefined) {
      const directives = parseCacheControl(cacheControl);
      if (directives.has('no-store') || directives.has('no-cache')) return { store: false, reason: 'no-store' };
      if (directives.has('private')) return { store: false, reason: 'private' };
      // §5.2.2.10: s-maxage overrides max-age for a shared cache.
      const maxAge = Number(directives.get('s-maxage') ?? directives.get('max-age') ?? Number.NaN);
      if (Number.isFinite(maxAge)) {
        // The upstream's freshness counts from when the response was generated (§4.2.3).
        const remaining = Math.min(maxAge * 1000, MAX_RESPECTED_TTL_MS) - ageMs;
        if (remaining <= 0) return { store: false, reason: 'max-age' };
        ttlMs = remaining;
      }
    }
  }
  return { store: true, ttlMs, keepMs: Math.max(staleWindowMs(rule, headers), rule.keepExpiredMs), ageMs, withheld: [] };
}

/** Final statuses whose semantics this cache knows (RFC 9110 §15), for `must-understand`. */
const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
  417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
]);

/** RFC 9111 §3 for a shared cache in front of one origin. */
function decideOriginStore(rule: CacheRuleConfig, response: StoreCandidate): StoreDecision {
  const { status, headers, times } = response;
  // 206 would need combining (§3.4), 304 updates an entry (§4.3.4): neither is stored as such.
  if (status < 200 || status === 206 || status === 304 || status > 599) return { store: false, reason: 'status' };
  const directives = responseDirectives(headers);
  if (directives.mustUnderstand) {
    // §5.2.2.3: stored only with a status the cache understands, and then no-store is overridden.
    if (!UNDERSTOOD_STATUSES.has(status)) return { store: false, reason: 'status' };
  } else if (directives.noStore) {
    return { store: false, reason: 'no-store' };
  }
  if (directives.private) return { store: false, reason: 'private' };
  if (response.authorized && rule.scope === 'shared' && !directives.sharesAuthorized) return { store: false, reason: 'authorization' };
  if (varyNames(headers).includes('*')) return { store: false, reason: 'vary' };

  const lifetimeMs = freshnessLifetimeMs(directives, headers, status, times.responseTime);
  const explicit = directives.maxAgeMs !== null || headers['expires'] !== undefined;
  // §3: an explicit lifetime, `public`, or a heuristically cacheable status makes it storable.
  if (!explicit && !directives.public && !HEURISTICALLY_CACHEABLE.has(status)) return { store: false, reason: 'status' };
  const ageMs = initialAgeMs(headers, times);
  const ttlMs = directives.noCache ? 0 : Math.min(lifetimeMs ?? 0, MAX_RESPECTED_TTL_MS) - ageMs;
  const staleMs = Math.max(directives.staleWhileRevalidateMs, directives.staleIfErrorMs);
  const validated = headers['etag'] !== undefined || headers['last-modified'] !== undefined;
  // Stale on arrival, with nothing to revalidate with and no window to serve it in: storing it
  // would only take space.
  if (ttlMs <= 0 && !validated && staleMs <= 0) return { store: false, reason: 'max-age' };
  const keepMs = Math.max(staleMs, rule.keepExpiredMs);
  return { store: true, ttlMs, keepMs: Math.min(keepMs, MAX_RESPECTED_TTL_MS), ageMs, withheld: directives.withheldFields };
}

/** The lower-case field names a response's `Vary` lists. */
export function varyNames(headers: StoredHeaders): string[] {
  const vary = headerValue(headers, 'vary');
  if (vary === undefined) return [];
  return vary
    .split(',')
    .map((field) => field.trim().toLowerCase())
    .filter((name) => name !== '');
}
