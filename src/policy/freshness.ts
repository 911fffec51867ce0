import type { CacheEntry, StoredHeaders } from '../cache/entry.js';
import type { CacheRuleConfig } from '../config/types.js';
import { headerValue, parseCacheControl } from '../http/fields.js';
import { responseDirectives } from './response-directives.js';

/**
 * Where an entry stands at `now` under its rule:
 * - `fresh`: within its freshness lifetime;
 * - `stale-while-revalidate`: served at once while one background fetch refreshes it;
 * - `stale-if-error`: only served if the upstream fails;
 * - `expired`: never served as it is; while it is still stored, its validators make the refetch conditional.
 */
export type Freshness = 'fresh' | 'stale-while-revalidate' | 'stale-if-error' | 'expired';

type FreshnessRule = Pick<CacheRuleConfig, 'staleWhileRevalidateMs' | 'staleIfErrorMs' | 'freshness' | 'respectCacheControl'>;

/** How an entry may be used past its freshness; the same for every read of one stored object. */
export interface StaleUse {
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  /** Never served stale: `must-revalidate`, `proxy-revalidate`, `s-maxage` or `no-cache` (RFC 9111 §4.2.4). */
  readonly mustRevalidate: boolean;
}

const staleUses = new WeakMap<CacheEntry, StaleUse>();

/**
 * The entry's stale windows: in API mode the rule's, in standards mode the response's own RFC 5861
 * directives; none when the response forbids stale use. Entries are immutable, so the answer is
 * kept per stored object (the rule is fixed at boot).
 */
export function staleUse(entry: CacheEntry, rule: FreshnessRule): StaleUse {
  let use = staleUses.get(entry);
  if (use === undefined) {
    if (rule.freshness === 'origin') {
      const directives = responseDirectives(entry.headers);
      use = {
        staleWhileRevalidateMs: directives.staleWhileRevalidateMs,
        staleIfErrorMs: directives.staleIfErrorMs,
        mustRevalidate: directives.mustRevalidate || directives.noCache,
      };
    } else {
      const mustRevalidate = forbidsStale(rule, entry.headers);
      use = {
        staleWhileRevalidateMs: mustRevalidate ? 0 : rule.staleWhileRevalidateMs,
        staleIfErrorMs: mustRevalidate ? 0 : rule.staleIfErrorMs,
        mustRevalidate,
      };
    }
    staleUses.set(entry, use);
  }
  return use;
}

export function freshness(entry: CacheEntry, rule: FreshnessRule, now: number): Freshness {
  if (now < entry.expiresAt) return 'fresh';
  // An entry is never served past its own horizon, which may be shorter than the rule's windows
  // (stored under an older config).
  if (now >= entry.staleUntil) return 'expired';
  const use = staleUse(entry, rule);
  if (now < entry.expiresAt + use.staleWhileRevalidateMs) return 'stale-while-revalidate';
  if (now < entry.expiresAt + use.staleIfErrorMs) return 'stale-if-error';
  return 'expired';
}

/**
 * API mode: how long past its ttl an entry is kept, the longer of the rule's stale windows, or
 * nothing when the upstream forbids serving it stale (`must-revalidate`, `proxy-revalidate`
 * honoured under `respectCacheControl`, RFC 9111 §4.2.4).
 */
export function staleWindowMs(rule: CacheRuleConfig, headers: StoredHeaders): number {
  if (forbidsStale(rule, headers)) return 0;
  return Math.max(rule.staleWhileRevalidateMs, rule.staleIfErrorMs);
}

function forbidsStale(rule: Pick<CacheRuleConfig, 'respectCacheControl'>, headers: StoredHeaders): boolean {
  if (!rule.respectCacheControl) return false;
  const cacheControl = headerValue(headers, 'cache-control');
  if (cacheControl === undefined) return false;
  const directives = parseCacheControl(cacheControl);
  return directives.has('must-revalidate') || directives.has('proxy-revalidate');
}
