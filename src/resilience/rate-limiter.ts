import { LRUCache } from 'lru-cache';
import type { SharedRedis } from '../redis/client.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { systemClock, type Clock } from './clock.js';
import { RedisTokenBucket } from './redis-token-bucket.js';
import { assertBucketOptions, assertCost, takeTokens, type BucketState, type RateLimitDecision, type RateLimiter, type TokenBucketOptions } from './token-bucket.js';

export * from './token-bucket.js';
export { RedisTokenBucket, type RedisTokenBucketOptions } from './redis-token-bucket.js';

export interface MemoryTokenBucketOptions extends TokenBucketOptions {
  /** Buckets kept at most (least recently used first out; an evicted subject starts full again). Default 100,000. */
  readonly maxSubjects?: number;
  readonly clock?: Pick<Clock, 'now'>;
}

/** Token buckets in this process: an LRU of `BucketState`, refilled lazily on each take. */
export class MemoryTokenBucket implements RateLimiter {
  readonly #options: TokenBucketOptions;
  readonly #now: () => number;
  readonly #buckets: LRUCache<string, BucketState>;

  constructor(options: MemoryTokenBucketOptions) {
    assertBucketOptions('MemoryTokenBucket', options);
    const maxSubjects = options.maxSubjects ?? 100_000;
    if (!Number.isSafeInteger(maxSubjects) || maxSubjects < 1) {
      throw new TypeError(`MemoryTokenBucket: maxSubjects must be an integer >= 1, got ${String(maxSubjects)}`);
    }
    this.#options = { capacity: options.capacity, refillPerSecond: options.refillPerSecond };
    const clock = options.clock ?? systemClock;
    this.#now = () => clock.now();
    this.#buckets = new LRUCache({ max: maxSubjects });
  }

  async take(subject: string, cost = 1): Promise<RateLimitDecision> {
    return this.takeSync(subject, cost);
  }

  /** `take` without the promise. */
  takeSync(subject: string, cost = 1): RateLimitDecision {
    assertCost(cost, this.#options.capacity);
    const { state, decision } = takeTokens(this.#buckets.get(subject), cost, this.#now(), this.#options);
    this.#buckets.set(subject, state);
    return decision;
  }

  /** Subjects currently holding a bucket. */
  get size(): number {
    return this.#buckets.size;
  }
}

/** Whether the fallback was used because the primary failed, was too slow, or is being skipped. */
export type FallbackReason = 'error' | 'timeout' | 'breaker_open';

export interface FallbackRateLimiterOptions {
  /** The shared limiter (Redis). */
  readonly primary: RateLimiter;
  /** Asked when the primary fails, times out or is being skipped (memory). */
  readonly fallback: RateLimiter;
  /** How long a primary take may take before the fallback answers instead (default 50 ms). */
  readonly timeoutMs?: number;
  /**
   * Skips the primary after repeated failures so a dead Redis costs nothing per request.
   * Default: 3 consecutive failures, then 5 s before one probe.
   */
  readonly breaker?: Pick<CircuitBreaker, 'allow' | 'success' | 'failure'>;
  readonly clock?: Clock;
  /** For metrics and (rate-limited) logs. */
  readonly onFallback?: (reason: FallbackReason, error?: unknown) => void;
}

export interface FallbackRateLimiterStats {
  readonly primary: number;
  readonly fallback: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly skipped: number;
}

class PrimaryTimeout extends Error {}

/**
 * Shared limit when Redis is healthy, per-process limit when it is not: a request is never
 * failed, nor delayed by more than `timeoutMs`, because Redis is down or slow. While in fallback
 * each instance enforces the limit on its own, so a fleet of N admits up to N times the limit.
 * A primary take that times out still runs to completion and may spend a token there too.
 */
export class FallbackRateLimiter implements RateLimiter {
  readonly #primary: RateLimiter;
  readonly #fallback: RateLimiter;
  readonly #timeoutMs: number;
  readonly #breaker: Pick<CircuitBreaker, 'allow' | 'success' | 'failure'>;
  readonly #clock: Clock;
  readonly #onFallback: ((reason: FallbackReason, error?: unknown) => void) | undefined;
  readonly #stats = { primary: 0, fallback: 0, errors: 0, timeouts: 0, skipped: 0 };

  constructor(options: FallbackRateLimiterOptions) {
    this.#primary = options.primary;
    this.#fallback = options.fallback;
    this.#timeoutMs = options.timeoutMs ?? 50;
    if (!(Number.isFinite(this.#timeoutMs) && this.#timeoutMs > 0)) {
      throw new TypeError(`FallbackRateLimiter: timeoutMs must be a number greater than 0, got ${String(options.timeoutMs)}`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#breaker = options.breaker ?? new CircuitBreaker({ failureThreshold: 3, cooldownMs: 5_000 }, () => this.#clock.now());
    this.#onFallback = options.onFallback;
  }

  async take(subject: string, cost = 1): Promise<RateLimitDecision> {
    if (!this.#breaker.allow()) {
      this.#stats.skipped += 1;
      return this.#useFallback('breaker_open', subject, cost);
    }
    try {
      const decision = await this.#withTimeout(this.#primary.take(subject, cost));
      this.#breaker.success();
      this.#stats.primary += 1;
      return decision;
    } catch (err) {
      // A bad cost is the caller's bug, not Redis being down.
      if (err instanceof RangeError) throw err;
      this.#breaker.failure();
      const reason = err instanceof PrimaryTimeout ? 'timeout' : 'error';
      this.#stats[reason === 'timeout' ? 'timeouts' : 'errors'] += 1;
      return this.#useFallback(reason, subject, cost, err instanceof PrimaryTimeout ? undefined : err);
    }
  }

  stats(): FallbackRateLimiterStats {
    return { ...this.#stats };
  }

  #useFallback(reason: FallbackReason, subject: string, cost: number, error?: unknown): Promise<RateLimitDecision> {
    this.#stats.fallback += 1;
    this.#onFallback?.(reason, error);
    return this.#fallback.take(subject, cost);
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.#clock.setTimeout(() => reject(new PrimaryTimeout(`rate limiter primary took longer than ${this.#timeoutMs} ms`)), this.#timeoutMs);
      promise.then(
        (value) => {
          cancel();
          resolve(value);
        },
        (err: unknown) => {
          cancel();
          reject(err);
        },
      );
    });
  }
}

export interface RateLimiterFactoryOptions extends TokenBucketOptions {
  /** The process's Redis and its breaker, or null for memory only. */
  readonly redis: SharedRedis | null;
  /** `cache.namespace`. */
  readonly namespace: string;
  /** Which limit this is (the upstream name): separates buckets of different limits. */
  readonly name: string;
  readonly maxSubjects?: number;
  readonly timeoutMs?: number;
  readonly onFallback?: (reason: FallbackReason, error?: unknown) => void;
}

/** Redis-backed with a memory fallback when a client is given, else memory only. */
export function createRateLimiter(options: RateLimiterFactoryOptions): RateLimiter {
  const bucket = { capacity: options.capacity, refillPerSecond: options.refillPerSecond };
  const memory = new MemoryTokenBucket({ ...bucket, ...(options.maxSubjects !== undefined && { maxSubjects: options.maxSubjects }) });
  if (options.redis === null) return memory;
  return new FallbackRateLimiter({
    primary: new RedisTokenBucket({ ...bucket, client: options.redis.client, namespace: options.namespace, name: options.name }),
    fallback: memory,
    breaker: options.redis.breaker,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.onFallback !== undefined && { onFallback: options.onFallback }),
  });
}
