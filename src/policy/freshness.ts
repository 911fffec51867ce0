import type { CacheEntry, StoredHeaders } from '../cache/entry.js';
import type { CacheRuleConfig } from '../config/types.js';
import { headerValue } from '../http/fields.js';
import { parseCacheControl } from '../http/fields.js';

/**
 * Where an entry stands at `now` under its rule:
 * - `fresh`: within its ttl;
 * - `stale-while-revalidate`: served at once while one background fetch refreshes it;
 * - `stale-if-error`: only served if the upstream fails;
 * - `expired`: never served.
 */
export type Freshness = 'fresh' | 'stale-while-revalidate' | 'stale-if-error' | 'expired';

export function freshness(entry: CacheEntry, rule: Pick<CacheRuleConfig, 'staleWhileRevalidateMs' | 'staleIfErrorMs'>, now: number): Freshness {
  if (now < entry.expiresAt) return 'fresh';
  // An entry is never served past its own stale horizon, which may be shorter than the rule's
  // windows (stored under an older config, or marked must-revalidate).
  if (now >= entry.staleUntil) return 'expired';
  if (now < entry.expiresAt + rule.staleWhileRevalidateMs) return 'stale-while-revalidate';
  if (now < entry.expiresAt + rule.staleIfErrorMs) return 'stale-if-error';
  return 'expired';
}

/**
 * How long past its ttl an entry is kept: the longer of the rule's stale windows, or nothing when
 * the upstream forbids serving it stale (`must-revalidate`, `proxy-revalidate`, `no-cache`
 * honoured under `respectCacheControl`, RFC 9111 §4.2.4 and §5.2.2).
 */
export function staleWindowMs(rule: CacheRuleConfig, headers: StoredHeaders): number {
  if (rule.respectCacheControl) {
    const cacheControl = headerValue(headers, 'cache-control');
    if (cacheControl !== undefined) {
      const directives = parseCacheControl(cacheControl);
      if (directives.has('must-revalidate') || directives.has('proxy-revalidate')) return 0;
    }
  }
  return Math.max(rule.staleWhileRevalidateMs, rule.staleIfErrorMs);
}
