/**
 * The normalised configuration the resilience modules read (milliseconds, counts), proposed as
 * `UpstreamConfig.protection` and `UpstreamConfig.rateLimit`, with the defaults the loader fills in.
 */

/** Failure-rate breaker of one upstream (see `UpstreamBreaker`). */
export interface UpstreamBreakerConfig {
  /** Sliding window the failure rate is measured over. */
  readonly windowMs: number;
  /** Counter bucket width; the window keeps ceil(windowMs / bucketMs) buckets. */
  readonly bucketMs: number;
  /** Calls in the window before the rate is judged. */
  readonly minimumCalls: number;
  /** Failure share in (0, 1] that opens the breaker. */
  readonly failureRate: number;
  /** Time open before half-opening. */
  readonly openMs: number;
  /** Probes let through when half-open; all must succeed to close. */
  readonly halfOpenProbes: number;
}

/** `upstreams[].protection`: how sidecache spares one upstream. */
export interface UpstreamProtectionConfig {
  /** Upstream calls in flight at most (keep <= pool.connections, or undici queues invisibly behind it). */
  readonly maxConcurrent: number;
  /** Requests waiting for a slot at most; beyond it: stale, else 503 upstream_saturated. */
  readonly maxQueue: number;
  /** Longest wait for a slot; then: stale, else 503 upstream_saturated. */
  readonly queueTimeoutMs: number;
  readonly breaker: UpstreamBreakerConfig;
  /** Longest pause a `Retry-After` (or Salesforce request-limit 403) can impose. */
  readonly retryAfterMaxMs: number;
  /** Pause after a 429 / request-limit 403 without a usable `Retry-After`. */
  readonly retryAfterDefaultMs: number;
  /** Retry GET/HEAD/OPTIONS once on a connection reset before any response byte. */
  readonly retryOnReset: boolean;
  /** Upper bound of the random wait before that retry. */
  readonly retryJitterMs: number;
}

/** Which request identity a caller's bucket belongs to. */
export type RateLimitSubjectKind = 'session' | 'user' | 'ip';

/** `upstreams[].rateLimit` (absent = no caller rate limit for this upstream). */
export interface RateLimitConfig {
  /** Bucket per session token, user id or client IP; a request without that identity falls back to its IP. */
  readonly by: RateLimitSubjectKind;
  /** Burst size; a new subject starts with a full bucket. */
  readonly capacity: number;
  /** Sustained rate. */
  readonly refillPerSecond: number;
  /** Cache hits take no token (they cost the upstream nothing). */
  readonly exemptHits: boolean;
  /** In-memory buckets kept at most (memory mode and Redis fallback). */
  readonly maxSubjects: number;
  /** Longest wait for Redis before the in-memory bucket decides instead. */
  readonly redisTimeoutMs: number;
}

export const PROTECTION_DEFAULTS: UpstreamProtectionConfig = Object.freeze({
  maxConcurrent: 32,
  maxQueue: 128,
  queueTimeoutMs: 5_000,
  breaker: Object.freeze({ windowMs: 10_000, bucketMs: 1_000, minimumCalls: 20, failureRate: 0.5, openMs: 15_000, halfOpenProbes: 3 }),
  retryAfterMaxMs: 600_000,
  retryAfterDefaultMs: 30_000,
  retryOnReset: true,
  retryJitterMs: 100,
});

/** Defaults of the keys a `rateLimit:` section leaves out (`capacity` and `refillPerSecond` included). */
export const RATE_LIMIT_DEFAULTS: RateLimitConfig = Object.freeze({
  by: 'session',
  capacity: 120,
  refillPerSecond: 2,
  exemptHits: true,
  maxSubjects: 100_000,
  redisTimeoutMs: 50,
});
