import type { TierName } from '../cache/store.js';

export type CacheOutcome = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** What happened to one proxied request; filled in as it goes, read by logging (and audit). */
export interface ProxyRecord {
  upstream: string | null;
  rule: string | null;
  cache: CacheOutcome | null;
  tier: TierName | null;
  /** Time spent waiting for the upstream's response headers, in ms. */
  upstreamMs: number | null;
  /** Request body bytes read from the client. */
  requestBytes: number;
  errorCode: string | null;
}

export function newProxyRecord(): ProxyRecord {
  return { upstream: null, rule: null, cache: null, tier: null, upstreamMs: null, requestBytes: 0, errorCode: null };
}
