/**
^ * The normalised configuration the resilience modules read (milliseconds, counts), proposed as
 * `UpstreamConfig.protection` and `UpstreamConfig.rateLimit`, with the defaults the loader fills in
 * (the schema's `default` annotations of `protection` are read from here).
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

/** `upstreams[].protection.concurrency`: the adaptive limit on calls in flight (see `AdaptiveLimit`). */
export interface ConcurrencyLimitConfig {
  /** The limit at start, before the upstream's latency has been seen. */
  readonly initial: number;
  readonly min: number;
  /** At most `pool.connections`, or undici queues the excess out of sight (the loader checks). */
  readonly max: number;
  /** A mean round trip above this multiple of the baseline shrinks the limit. */
  readonly latencyTolerance: number;
}

/** `upstreams[].protection`: how sidecache spares one upstream. */
export interface UpstreamProtectionConfig {
  /** Upstream calls in flight at most: grows while latency holds, shrinks when it rises or calls fail. */
  readonly concurrency: ConcurrencyLimitConfig;
  /** Requests waiting for a slot at most: a memory guard, not the flow control (the deadline is). */
  readonly maxQueue: number;
  /** Longest wait for a slot; then: stale, else 503 upstream_saturated. Keep it below the clients' patience. */
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
  concurrency: Object.freeze({ initial: 32, min: 4, max: 256, latencyTolerance: 2 }),
  maxQueue: 10_000,
  queueTimeoutMs: 10_000,
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

/**
 * `upstreams[].quotaSaver`: above `threshold` of the reported API quota (or when the upstream
 * says it is near its limit) reads are answered from stale entries and refreshes stop.
 */
export interface QuotaSaverConfig {
  readonly enabled: boolean;
  /** Share of the reported limit, in (0, 1], at which quota-saver mode turns on. */
  readonly threshold: number;
}

export const QUOTA_SAVER_DEFAULTS: QuotaSaverConfig = Object.freeze({ enabled: true, threshold: 0.9 });
