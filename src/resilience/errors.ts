import { errorCatalogue } from '../errors.js';

/**
 * The errors the resilience modules reject with: entries of the one catalogue in src/errors.ts,
 * so a caller maps one with `new SidecacheError(err.code, err.message, { cause: err, retryAfterMs })`.
 */
const resilienceErrors = {
  upstream_saturated: errorCatalogue.upstream_saturated,
  upstream_circuit_open: errorCatalogue.upstream_circuit_open,
  upstream_throttled: errorCatalogue.upstream_throttled,
  rate_limited: errorCatalogue.rate_limited,
} as const;

export type ResilienceErrorCode = keyof typeof resilienceErrors;

/**
 * Why a concurrency slot was refused: the queue was full, the wait timed out, or (`busy`) no slot
 * was free for a caller that chose not to wait (it had stale data to serve instead).
 */
export type SaturationReason = 'queue_full' | 'queue_timeout' | 'busy';

export interface ResilienceErrorDetails {
  /** Sub-reason for logs and metrics labels, e.g. `queue_full`. Bounded set per code. */
  readonly reason?: string;
  /** When the caller may try again (ms from now); null when unknown. */
  readonly retryAfterMs?: number | null;
  readonly message?: string;
}

/** A refusal by an upstream guard or a caller rate limit, never an upstream failure itself. */
export class ResilienceError extends Error {
  readonly code: ResilienceErrorCode;
  readonly status: number;
  readonly reason: string | null;
  readonly retryAfterMs: number | null;

  constructor(code: ResilienceErrorCode, details: ResilienceErrorDetails = {}) {
    super(details.message ?? resilienceErrors[code].message);
    this.name = 'ResilienceError';
    this.code = code;
    this.status = resilienceErrors[code].status;
    this.reason = details.reason ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
  }
}

/** Rejection of `ConcurrencyLimiter.acquire`: the queue was full, or the wait timed out. */
export class SaturatedError extends ResilienceError {
  declare readonly reason: SaturationReason;

  constructor(reason: SaturationReason, retryAfterMs: number | null = null) {
    super('upstream_saturated', { reason, retryAfterMs });
    this.name = 'SaturatedError';
  }
}
