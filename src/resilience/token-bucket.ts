/** The token-bucket contract and arithmetic every rate limiter shares (no I/O). */

/** The answer to one `take`. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Whole tokens left after this take. */
  readonly remaining: number;
  /** 0 when allowed; otherwise ms until `cost` tokens will have refilled (for `Retry-After`). */
  readonly retryAfterMs: number;
}

/** Caller rate limiting: a token bucket per subject (an opaque, already hashed session/user/IP). */
export interface RateLimiter {
  /** Takes `cost` tokens (default 1) from the subject's bucket if it holds that many. */
  take(subject: string, cost?: number): Promise<RateLimitDecision>;
}

export interface TokenBucketOptions {
  /** Bucket size: the burst a subject may send at once. A new subject starts full. */
  readonly capacity: number;
  /** Tokens added per second, continuously, up to `capacity`. */
  readonly refillPerSecond: number;
}

/** A bucket as stored: its tokens (fractional) as of `updatedAt` (epoch ms). */
export interface BucketState {
  readonly tokens: number;
  readonly updatedAt: number;
}

/**
 * The token-bucket step, shared by the memory bucket and mirrored by the Redis script: refill by
 * elapsed time (a clock going backwards refills nothing), then take `cost` if there is enough.
 * A refused take costs nothing. `state` undefined is a new, full bucket.
 */
export function takeTokens(state: BucketState | undefined, cost: number, now: number, options: TokenBucketOptions): { state: BucketState; decision: RateLimitDecision } {
  const perMs = options.refillPerSecond / 1000;
  const elapsed = state === undefined ? 0 : Math.max(0, now - state.updatedAt);
  const available = state === undefined ? options.capacity : Math.min(options.capacity, state.tokens + elapsed * perMs);
  if (available >= cost) {
    const tokens = available - cost;
    return { state: { tokens, updatedAt: now }, decision: { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 } };
  }
  return {
    state: { tokens: available, updatedAt: now },
    decision: { allowed: false, remaining: Math.floor(available), retryAfterMs: ceilMs((cost - available) / perMs) },
  };
}

/** Throws a TypeError naming the bad option; shared by every implementation. */
export function assertBucketOptions(owner: string, options: TokenBucketOptions): void {
  if (!(Number.isFinite(options.capacity) && options.capacity >= 1)) {
    throw new TypeError(`${owner}: capacity must be a number >= 1, got ${String(options.capacity)}`);
  }
  if (!(Number.isFinite(options.refillPerSecond) && options.refillPerSecond > 0)) {
    throw new TypeError(`${owner}: refillPerSecond must be a number greater than 0, got ${String(options.refillPerSecond)}`);
  }
}

/** Throws a RangeError for a cost that is not in (0, capacity]: such a take could never succeed. */
export function assertCost(cost: number, capacity: number): void {
  if (!(Number.isFinite(cost) && cost > 0 && cost <= capacity)) {
    throw new RangeError(`rate limiter: cost must be a number in (0, ${capacity}], got ${String(cost)}`);
  }
}

/** Rounds a wait up to whole ms (at least 1), ignoring float noise: 0.998 tokens at 2/s is 1 ms, not 2. */
export function ceilMs(ms: number): number {
  return Math.max(1, Math.ceil(ms - 1e-6));
}
