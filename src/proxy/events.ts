/** Why a stale entry was served instead of a fresh response. */
/** `client`: the client accepted it (`max-stale`, standards mode). */
export type StaleReason = 'revalidating' | 'error' | 'timeout' | 'rate_limited' | 'circuit_open' | 'saturated' | 'quota' | 'client';

/**
 * What the proxy reports as it works, for observers such as the metrics. Implementations must be
 * cheap and synchronous: these are called on the hot path.
 */
export interface ProxyEvents {
  /**
   * A proxied request's response has finished (`cache` null when it never reached the cache;
   * `tier` the tier that answered a hit or stale response, else null).
   */
  requestCompleted(upstream: string | null, method: string, status: number, cache: string | null, seconds: number, tier?: string | null): void;
  upstreamStarted(upstream: string): void;
  /** The upstream's response headers arrived (`status`), or the call failed (`status` null). */
  upstreamFinished(upstream: string, status: number | null, seconds: number): void;
  /** The call was aborted for the client (it left, or its body failed): no verdict on the upstream. */
  upstreamAbandoned?(upstream: string): void;
  /** A request joined another's upstream call. */
  coalesced(upstream: string): void;
  staleServed(upstream: string, reason: StaleReason): void;
}
