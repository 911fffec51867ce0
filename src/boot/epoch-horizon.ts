import type { Config } from '../config/types.js';
import { MAX_RESPECTED_TTL_MS } from '../policy/storability.js';

/** The longest any entry can live: invalidation epochs older than this cannot matter. */
export function longestLifetimeMs(config: Config): number {
  let longest = MAX_RESPECTED_TTL_MS;
  for (const upstream of config.upstreams) {
    for (const rule of upstream.rules) longest = Math.max(longest, rule.ttlMs, rule.negativeTtlMs ?? 0);
  }
  return longest;
}
