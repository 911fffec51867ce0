import type { Config } from '../config/types.js';
import { MAX_RESPECTED_TTL_MS } from '../policy/storability.js';

/**
 * The longest any entry can live, stale windows and revalidation keep included: invalidation
 * epochs older than this cannot matter. Standards mode caps freshness and keep at a day each.
 */
export function longestLifetimeMs(config: Config): number {
  let longest = MAX_RESPECTED_TTL_MS;
  for (const upstream of config.upstreams) {
    for (const rule of upstream.rules) {
      const lifetime =
        rule.freshness === 'origin'
          ? 2 * MAX_RESPECTED_TTL_MS
          : Math.max(rule.ttlMs, rule.negativeTtlMs ?? 0, MAX_RESPECTED_TTL_MS) + Math.max(rule.staleWhileRevalidateMs, rule.staleIfErrorMs, rule.keepExpiredMs);
      longest = Math.max(longest, lifetime);
    }
  }
  return longest;
}
