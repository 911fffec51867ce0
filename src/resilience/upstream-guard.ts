import { AdaptiveLimit } from './adaptive-limit.js';
import { systemClock, type Clock } from './clock.js';
import { ConcurrencyLimiter, type CallOutcome, type ConcurrencyLimiterStats, type Release } from './concurrency-limiter.js';
import type { UpstreamConfig, UpstreamProtectionConfig } from '../config/types.js';
import { ResilienceError, SaturatedError } from './errors.js';
import { UpstreamQuota, type SaverChange, type UpstreamQuotaOptions } from './quota.js';
import { QUOTA_SAVER_DEFAULTS } from '../config/protection.js';
import type { ResponseHeaders } from '../http/fields.js';
import { classifyUpstreamResponse, RetryAfterGate, upstreamPauseMs, type UpstreamFailureKind } from './retry-after.js';
import { UpstreamBreaker, type BreakerStateChange, type UpstreamBreakerStats } from './upstream-breaker.js';

export interface UpstreamGuardOptions {
  readonly protection: UpstreamProtectionConfig;
  readonly clock?: Clock;
  /** Breaker transitions, for metrics and logs; must not throw. */
  readonly onBreakerStateChange?: (change: BreakerStateChange) => void;
  /** Quota-saver settings and observers (default: on at 90 %, nobody told). */
  readonly quota?: Omit<UpstreamQuotaOptions, 'clock'>;
}

export interface AdmitOptions {
  /**
   * false: refuse at once when no slot is free (the caller has stale data to serve instead);
   * true: wait in the queue until `queueTimeoutMs` after arrival.
   */
  readonly wait: boolean;
  /** The client's request signal: a waiter whose client left leaves the queue. */
  readonly signal?: AbortSignal;
  /** The call streams the client's body as it arrives: limited to a share of the slots (ConcurrencyLimiter). */
  readonly bulk?: boolean;
}

/** One admitted upstream call. Report its verdict once, and release it when the body is done. */
export interface Permit {
  /**
   * The response headers arrived: classifies them (pass the first bytes of the body for a 403,
   * see `needsBodySnippet`), feeds the breaker, and pauses the upstream for 429 / Retry-After.
   * Returns the failure kind, or null for an answer to pass on or cache. The time since admission
   * (or the failure) is the round trip the adaptive concurrency limit learns from.
   */
  response(status: number, headers: ResponseHeaders, bodySnippet?: string | Uint8Array): UpstreamFailureKind | null;
  /** The call failed without a response (connect error, reset, timeout): a breaker failure. */
  failure(): void;
  /** Frees the concurrency slot (call when the body has ended or failed). Without a verdict the breaker learns nothing. Idempotent. */
  release(): void;
}

export interface UpstreamGuardStats {
  readonly breaker: UpstreamBreakerStats;
  readonly concurrency: ConcurrencyLimiterStats;
  /** Remaining pause from Retry-After, 0 when none. */
  readonly pausedForMs: number;
}

/**
 * Upstream protection of one upstream, in the order a call must pass it:
 *
 * 1. the Retry-After gate: paused after a 429 (or 503 + Retry-After, or Salesforce's request-limit
 *    403) -> `upstream_throttled`;
 * 2. the failure-rate breaker: open -> `upstream_circuit_open`;
 * 3. the adaptive concurrency limit: no slot -> `upstream_saturated` (at once when `wait` is
 *    false, after waiting in the queue until the deadline otherwise).
 *
 * Every refusal is a `ResilienceError` carrying `retryAfterMs` when known; a caller with a stale
 * entry in its stale-if-error window serves it instead. Verdicts: 5xx and failures without a
 * response count against the breaker; 429 and the request-limit 403 pause the upstream but do not
 * count as breaker failures (the upstream is up, only refusing), any other status is a success.
 * For the concurrency limit every failure kind is a dropped call, and a success a round trip.
 */
export class UpstreamGuard {
  readonly breaker: UpstreamBreaker;
  readonly limit: AdaptiveLimit;
  readonly limiter: ConcurrencyLimiter;
  readonly gate: RetryAfterGate;
  readonly protection: UpstreamProtectionConfig;
  /** The upstream's reported API quota and quota-saver mode, fed by every response this guard judges. */
  readonly quota: UpstreamQuota;
  readonly #clock: Clock;

  constructor(options: UpstreamGuardOptions) {
    const p = options.protection;
    this.protection = p;
    this.#clock = options.clock ?? systemClock;
    this.gate = new RetryAfterGate(this.#clock);
    this.quota = new UpstreamQuota({ config: QUOTA_SAVER_DEFAULTS, ...options.quota, clock: this.#clock });
    this.breaker = new UpstreamBreaker({
      ...p.breaker,
      clock: this.#clock,
      ...(options.onBreakerStateChange !== undefined && { onStateChange: options.onBreakerStateChange }),
    });
    this.limit = new AdaptiveLimit({ ...p.concurrency, clock: this.#clock });
    this.limiter = new ConcurrencyLimiter({ limit: this.limit, maxQueue: p.maxQueue, queueTimeoutMs: p.queueTimeoutMs, clock: this.#clock });
  }

  /** A permit for one upstream call, or a `ResilienceError` (or the signal's reason) saying why not. */
  async admit(options: AdmitOptions): Promise<Permit> {
    this.#checkGate();
    if (!this.breaker.allow()) {
      const halfOpenAt = this.breaker.stats().halfOpenAt;
      throw new ResilienceError('upstream_circuit_open', { retryAfterMs: halfOpenAt === null ? null : Math.max(0, halfOpenAt - this.#clock.now()) });
    }
    let release: Release;
    try {
      if (options.wait) {
        release = await this.limiter.acquire(options.signal, { bulk: options.bulk === true });
      } else {
        const slot = this.limiter.tryAcquire({ bulk: options.bulk === true });
        if (slot === null) throw new SaturatedError('busy');
        release = slot;
      }
    } catch (err) {
      this.breaker.release();
      throw err;
    }
    try {
      // A 429 may have arrived while this call waited in the queue.
      this.#checkGate();
    } catch (err) {
      release();
      this.breaker.release();
      throw err;
    }
    return this.#permit(release);
  }

  stats(): UpstreamGuardStats {
    return { breaker: this.breaker.stats(), concurrency: this.limiter.stats(), pausedForMs: this.gate.blockedFor() };
  }

  #checkGate(): void {
    const pausedFor = this.gate.blockedFor();
    if (pausedFor > 0) throw new ResilienceError('upstream_throttled', { retryAfterMs: pausedFor });
  }

  #permit(releaseSlot: Release): Permit {
    const admittedAt = this.#clock.now();
    let judged = false;
    let released = false;
    let outcome: CallOutcome | undefined;
    const ended = (dropped: boolean): void => {
      outcome ??= { rttMs: this.#clock.now() - admittedAt, dropped };
    };
    const judge = (verdict: 'success' | 'failure' | 'neutral'): void => {
      if (judged) return;
      judged = true;
      if (verdict === 'success') this.breaker.success();
      else if (verdict === 'failure') this.breaker.failure();
      else this.breaker.release();
    };
    return {
      response: (status, headers, bodySnippet) => {
        this.quota.observe(headers);
        const kind = classifyUpstreamResponse(status, headers, bodySnippet);
        const pauseMs = upstreamPauseMs(status, kind, headers, this.#clock.now(), {
          maxMs: this.protection.retryAfterMaxMs,
          defaultMs: this.protection.retryAfterDefaultMs,
        });
        if (pauseMs !== null) this.gate.blockFor(pauseMs);
        judge(kind === 'server_error' ? 'failure' : kind === null ? 'success' : 'neutral');
        ended(kind !== null);
        return kind;
      },
      failure: () => {
        judge('failure');
        ended(true);
      },
      release: () => {
        if (released) return;
        released = true;
        judge('neutral');
        releaseSlot(outcome);
      },
    };
  }
}

/**
 * One guard per enabled upstream, by name: built once at boot and shared by the forwarder (which
 * sends through them) and the metrics, stats and readiness (which read them).
 */
export function upstreamGuards(
  upstreams: readonly UpstreamConfig[],
  observers: {
    readonly onBreakerStateChange?: (upstream: string, change: BreakerStateChange) => void;
    readonly onSaverChange?: (upstream: string, change: SaverChange) => void;
    readonly onQuotaMalformed?: (upstream: string, field: string) => void;
    readonly clock?: Clock;
  } = {},
): ReadonlyMap<string, UpstreamGuard> {
  const guards = new Map<string, UpstreamGuard>();
  const { onBreakerStateChange: onBreaker, onSaverChange: onSaver, onQuotaMalformed: onMalformed, clock } = observers;
  for (const upstream of upstreams) {
    if (upstream.target === null) continue;
    const name = upstream.name;
    guards.set(
      name,
      new UpstreamGuard({
        protection: upstream.protection,
        ...(clock !== undefined && { clock }),
        ...(onBreaker !== undefined && { onBreakerStateChange: (change) => onBreaker(name, change) }),
        quota: {
          config: upstream.quotaSaver,
          ...(onSaver !== undefined && { onChange: (change: SaverChange) => onSaver(name, change) }),
          ...(onMalformed !== undefined && { onMalformed: (field: string) => onMalformed(name, field) }),
        },
      }),
    );
  }
  return guards;
}
