/**
 * `protection:` and `rateLimit:` normalised into what the resilience modules read (milliseconds,
 * a concurrency limit fitted to the pool). `PROTECTION_DEFAULTS` and `RATE_LIMIT_DEFAULTS` are
 * the schema's defaults run through the same normalisers.
 */
import type { Static } from '@sinclair/typebox';
import { defaultsOf } from './defaults.js';
import { deepFreeze } from './deep-freeze.js';
import { BUILT_IN_DEFAULTS } from './schema.js';
import { CONCURRENCY_START, ConcurrencySchema, RateLimitSchema, type OwnProtectionSchema, type ProtectionSchema } from './schema/protection.js';
import { QuotaSaverSchema } from './schema/upstream.js';
import type { QuotaSaverConfig } from './types.js';
import { parseDuration } from './units.js';

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

/**
 * `upstreams[].protection.concurrency`: the adaptive limit on calls in flight (see `AdaptiveLimit`).
 * `max` is at most `pool.connections`, or undici queues the excess out of sight (the loader checks);
 * a round trip above `latencyTolerance` times the baseline shrinks the limit.
 */
export type ConcurrencyLimitConfig = Readonly<Required<Static<typeof ConcurrencySchema>>>;

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

type RawRateLimit = Static<typeof RateLimitSchema>;

/** Which request identity a caller's bucket belongs to. */
export type RateLimitSubjectKind = RawRateLimit['by'];

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

type OwnProtection = Static<typeof OwnProtectionSchema>;
/** A `protection:` section with the deprecated `maxConcurrent` read (`legacy` set when it was). */
type ReadProtection<P extends OwnProtection> = Omit<P, 'concurrency' | 'maxConcurrent'> & {
  readonly concurrency?: OwnProtection['concurrency'];
  readonly legacy?: true;
};

interface Notes {
  readonly problems: string[];
  readonly warnings: string[];
}

/**
 * A `protection:` section with the deprecated `maxConcurrent: N` read as what it means now, a
 * fixed limit (`concurrency: { initial: N, min: N, max: N }`), with a warning; `legacy` is set then.
 */
export function legacyLimit<P extends OwnProtection>(raw: P, at: string, notes: Notes): ReadProtection<P> {
  if (raw.maxConcurrent === undefined) return raw;
  const { maxConcurrent: n, ...others } = raw;
  const rest = others as ReadProtection<P>;
  if (raw.concurrency !== undefined) {
    notes.problems.push(`${at}.maxConcurrent: cannot be set with concurrency (it is the old spelling of concurrency: { initial: ${n}, min: ${n}, max: ${n} })`);
    return rest;
  }
  const warning = `${at}.maxConcurrent is deprecated: read as a fixed limit, concurrency: { initial: ${n}, min: ${n}, max: ${n} }; remove it to let the limit adapt`;
  if (!notes.warnings.includes(warning)) notes.warnings.push(warning);
  return { ...rest, concurrency: { initial: n, min: n, max: n }, legacy: true };
}

const CONCURRENCY_DEFAULTS = defaultsOf(ConcurrencySchema);

/**
 * The upstream's `protection:` over the `defaults:` one, key by key. Unset concurrency keys fit
 * the pool: max defaults to the smaller of its start and `pool.connections`, min and initial to
 * at most max; a max above the pool's connections is refused (undici would queue out of sight).
 */
export function normaliseProtection(
  sources: { defaults: ReadProtection<Static<typeof ProtectionSchema>>; own: ReadProtection<OwnProtection> },
  where: { at: string; connections: number },
  problems: string[],
): UpstreamProtectionConfig {
  const { defaults, own } = sources;
  const { at, connections } = where;
  const raw = { ...defaults, ...own };
  const breaker = { ...defaults.breaker, ...own.breaker };
  const c = { ...CONCURRENCY_DEFAULTS, ...defaults.concurrency, ...own.concurrency };
  const max = c.max ?? Math.min(CONCURRENCY_START.max, connections);
  const min = c.min ?? Math.min(CONCURRENCY_START.min, max);
  const initial = c.initial ?? Math.min(Math.max(CONCURRENCY_START.initial, min), max);
  const legacy = own.legacy ?? (own.concurrency?.max === undefined && defaults.legacy);
  if (max > connections) {
    problems.push(`${at}.${legacy === true ? 'maxConcurrent' : 'concurrency.max'}: must be at most pool.connections (${connections}), or undici queues the excess out of sight`);
  }
  if (min > max) problems.push(`${at}.concurrency.min: must be at most concurrency.max (${max})`);
  else if (initial < min || initial > max) problems.push(`${at}.concurrency.initial: must be from concurrency.min (${min}) to concurrency.max (${max})`);
  const protection: UpstreamProtectionConfig = {
    concurrency: { initial, min, max, latencyTolerance: c.latencyTolerance },
    maxQueue: raw.maxQueue,
    queueTimeoutMs: parseDuration(raw.queueTimeout),
    breaker: {
      windowMs: parseDuration(breaker.window),
      bucketMs: parseDuration(breaker.bucket),
      minimumCalls: breaker.minimumCalls,
      failureRate: breaker.failureRate,
      openMs: parseDuration(breaker.openFor),
      halfOpenProbes: breaker.halfOpenProbes,
    },
    retryAfterMaxMs: parseDuration(raw.retryAfterMax),
    retryAfterDefaultMs: parseDuration(raw.retryAfterDefault),
    retryOnReset: raw.retryOnReset,
    retryJitterMs: parseDuration(raw.retryJitter),
  };
  if (protection.breaker.bucketMs <= 0 || protection.breaker.bucketMs > protection.breaker.windowMs) {
    problems.push(`${at}.breaker.bucket: must be above 0 and at most breaker.window`);
  }
  if (protection.breaker.openMs <= 0) problems.push(`${at}.breaker.openFor: must be above 0`);
  if (protection.queueTimeoutMs <= 0) problems.push(`${at}.queueTimeout: must be above 0`);
  return protection;
}

/** `rateLimit:` with its duration in milliseconds. */
export function normaliseRateLimit(raw: RawRateLimit): RateLimitConfig {
  const { by, capacity, refillPerSecond, exemptHits, maxSubjects } = raw;
  return { by, capacity, refillPerSecond, exemptHits, maxSubjects, redisTimeoutMs: parseDuration(raw.redisTimeout) };
}

/** What an upstream gets when neither it nor `defaults:` sets `protection:`. */
export const PROTECTION_DEFAULTS: UpstreamProtectionConfig = deepFreeze(
  normaliseProtection({ defaults: BUILT_IN_DEFAULTS.protection, own: {} }, { at: 'defaults.protection', connections: BUILT_IN_DEFAULTS.pool.connections }, []),
);

/** What a `rateLimit:` section that sets nothing means. */
export const RATE_LIMIT_DEFAULTS: RateLimitConfig = deepFreeze(normaliseRateLimit(defaultsOf(RateLimitSchema)));

/** What an upstream's `quotaSaver:` that sets nothing means (on at 90 % of the reported limit). */
export const QUOTA_SAVER_DEFAULTS: QuotaSaverConfig = defaultsOf(QuotaSaverSchema);
