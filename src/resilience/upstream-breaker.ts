import { PROTECTION_DEFAULTS } from '../config/protection.js';
import { systemClock, type Clock } from './clock.js';

/*
 * Why not ./circuit-breaker.ts: that one counts *consecutive* failures, which suits a
 * cache tier (one dependency, every call alike, a few timeouts in a row mean it is down). An
 * upstream API sees hundreds of mixed calls a second where a steady trickle of 5xx is normal and
 * a streak says little; it must open on a failure *rate* over recent traffic, only once there is
 * enough traffic to judge, and recover through several probes rather than one.
 */

export type UpstreamBreakerState = 'closed' | 'open' | 'half_open';

export interface UpstreamBreakerOptions {
  /** Length of the sliding window the failure rate is measured over (default 10 s). */
  readonly windowMs?: number;
  /** Width of one counter bucket; the window holds ceil(windowMs / bucketMs) of them (default 1 s). */
  readonly bucketMs?: number;
  /** Calls the window must hold before the rate is judged at all (default 20). */
  readonly minimumCalls?: number;
  /** Failure share, in (0, 1], at or above which the breaker opens (default 0.5). */
  readonly failureRate?: number;
  /** How long it stays open before letting probes through (default 15 s). */
  readonly openMs?: number;
  /** Probes let through when half-open; all of them must succeed to close (default 3). */
  readonly halfOpenProbes?: number;
  readonly clock?: Pick<Clock, 'now'>;
  /** Called synchronously on every transition (for metrics and logs); must not throw. */
  readonly onStateChange?: (change: BreakerStateChange) => void;
}

export interface BreakerStateChange {
  readonly from: UpstreamBreakerState;
  readonly to: UpstreamBreakerState;
  readonly at: number;
  /** The window's counts when it happened (closed -> open: the evidence). */
  readonly calls: number;
  readonly failures: number;
}

export interface UpstreamBreakerStats {
  readonly state: UpstreamBreakerState;
  /** Outcomes in the current window (closed state only; the window is reset on closing). */
  readonly calls: number;
  readonly failures: number;
  /** failures / calls, 0 without calls. */
  readonly failureRate: number;
  /** Times it has opened since start. */
  readonly opens: number;
  /** `allow()` calls answered false since start. */
  readonly rejected: number;
  /** When an open breaker starts probing, else null. */
  readonly halfOpenAt: number | null;
}

/**
 * Failure-rate circuit breaker for one upstream.
 *
 * closed: every call is allowed and its outcome counted in 1 s buckets (memory is bounded by the
 * bucket count); when a failure leaves >= `minimumCalls` calls in the window with a failure share
 * >= `failureRate`, it opens. open: nothing is allowed for `openMs`. half_open: `halfOpenProbes`
 * calls are allowed; once all succeed it closes with an empty window, and any probe failure
 * re-opens it for another `openMs`.
 *
 * Callers pair each allowed call with exactly one of `success()`, `failure()` or `release()` (the
 * call ended without a verdict, e.g. the client went away). Outcomes reported while open are
 * ignored: they belong to calls started before it opened. A probe that never reports back is
 * given up after `openMs`, so a lost probe cannot wedge the breaker half-open.
 */
export class UpstreamBreaker {
  readonly #bucketMs: number;
  readonly #minimumCalls: number;
  readonly #failureRate: number;
  readonly #openMs: number;
  readonly #probes: number;
  readonly #now: () => number;
  readonly #onStateChange: ((change: BreakerStateChange) => void) | undefined;
  // Ring of buckets: bucket i counts the calls whose time / bucketMs (the epoch) maps to i.
  readonly #epochs: number[];
  readonly #calls: number[];
  readonly #failures: number[];

  #state: UpstreamBreakerState = 'closed';
  #openedAt = 0;
  #probesAllowed = 0;
  #probesSucceeded = 0;
  #probesOutstanding = 0;
  #lastProbeAt = 0;
  #opens = 0;
  #rejected = 0;

  constructor(options: UpstreamBreakerOptions = {}) {
    const o = { ...PROTECTION_DEFAULTS.breaker, ...definedOnly(options) };
    positive('windowMs', o.windowMs);
    positive('bucketMs', o.bucketMs);
    positive('openMs', o.openMs);
    integer('minimumCalls', o.minimumCalls, 1);
    integer('halfOpenProbes', o.halfOpenProbes, 1);
    if (!(o.failureRate > 0 && o.failureRate <= 1)) throw new TypeError(`UpstreamBreaker: failureRate must be in (0, 1], got ${o.failureRate}`);
    if (o.bucketMs > o.windowMs) throw new TypeError(`UpstreamBreaker: bucketMs (${o.bucketMs}) must not exceed windowMs (${o.windowMs})`);
    this.#bucketMs = o.bucketMs;
    this.#minimumCalls = o.minimumCalls;
    this.#failureRate = o.failureRate;
    this.#openMs = o.openMs;
    this.#probes = o.halfOpenProbes;
    const clock = options.clock ?? systemClock;
    this.#now = () => clock.now();
    this.#onStateChange = options.onStateChange;
    const buckets = Math.ceil(o.windowMs / o.bucketMs);
    this.#epochs = new Array<number>(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#calls = new Array<number>(buckets).fill(0);
    this.#failures = new Array<number>(buckets).fill(0);
  }

  /** The state now (an open breaker whose cool-down has passed reads as half_open). */
  get state(): UpstreamBreakerState {
    this.#tick();
    return this.#state;
  }

  /** Whether a call may go to the upstream now. In half_open each true answer is a probe. */
  allow(): boolean {
    this.#tick();
    if (this.#state === 'closed') return true;
    if (this.#state === 'half_open' && this.#probesAllowed < this.#probes) {
      this.#probesAllowed += 1;
      this.#probesOutstanding += 1;
      this.#lastProbeAt = this.#now();
      return true;
    }
    this.#rejected += 1;
    return false;
  }

  /** The call reached a healthy upstream (any answer that is not an upstream failure). */
  success(): void {
    this.#tick();
    if (this.#state === 'closed') {
      this.#record(false);
    } else if (this.#state === 'half_open' && this.#probesOutstanding > 0) {
      this.#probesOutstanding -= 1;
      this.#probesSucceeded += 1;
      if (this.#probesSucceeded >= this.#probes) this.#transition('closed');
    }
  }

  /** The call failed: connection error, timeout, or a response `isUpstreamFailure` flags. */
  failure(): void {
    this.#tick();
    if (this.#state === 'closed') {
      this.#record(true);
      const { calls, failures } = this.#window();
      if (calls >= this.#minimumCalls && failures >= calls * this.#failureRate) this.#transition('open');
    } else if (this.#state === 'half_open' && this.#probesOutstanding > 0) {
      this.#transition('open');
    }
  }

  /** An allowed call ended without a verdict; in half_open its probe permit is handed back. */
  release(): void {
    this.#tick();
    if (this.#state === 'half_open' && this.#probesOutstanding > 0) {
      this.#probesOutstanding -= 1;
      this.#probesAllowed -= 1;
    }
  }

  /** Opens now, whatever the window says (admin action, or an upstream known to be down). */
  trip(): void {
    this.#tick();
    this.#transition('open');
  }

  stats(): UpstreamBreakerStats {
    this.#tick();
    const { calls, failures } = this.#state === 'closed' ? this.#window() : { calls: 0, failures: 0 };
    return {
      state: this.#state,
      calls,
      failures,
      failureRate: calls === 0 ? 0 : failures / calls,
      opens: this.#opens,
      rejected: this.#rejected,
      halfOpenAt: this.#state === 'open' ? this.#openedAt + this.#openMs : null,
    };
  }

  /** Time-driven transitions: open -> half_open after the cool-down; lost probes are given up. */
  #tick(): void {
    const now = this.#now();
    if (this.#state === 'open' && now - this.#openedAt >= this.#openMs) {
      this.#transition('half_open');
    } else if (this.#state === 'half_open' && this.#probesOutstanding > 0 && now - this.#lastProbeAt >= this.#openMs) {
      this.#probesAllowed -= this.#probesOutstanding;
      this.#probesOutstanding = 0;
    }
  }

  #record(failed: boolean): void {
    const epoch = Math.floor(this.#now() / this.#bucketMs);
    const i = mod(epoch, this.#epochs.length);
    if (this.#epochs[i] !== epoch) {
      this.#epochs[i] = epoch;
      this.#calls[i] = 0;
      this.#failures[i] = 0;
    }
    this.#calls[i]! += 1;
    if (failed) this.#failures[i]! += 1;
  }

  #window(): { calls: number; failures: number } {
    const oldest = Math.floor(this.#now() / this.#bucketMs) - this.#epochs.length;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.#epochs.length; i++) {
      if (this.#epochs[i]! > oldest) {
        calls += this.#calls[i]!;
        failures += this.#failures[i]!;
      }
    }
    return { calls, failures };
  }

  #transition(to: UpstreamBreakerState): void {
    const from = this.#state;
    const evidence = from === 'closed' ? this.#window() : { calls: 0, failures: 0 };
    this.#state = to;
    this.#probesAllowed = 0;
    this.#probesSucceeded = 0;
    this.#probesOutstanding = 0;
    if (to === 'open') {
      // Measured from now even when re-opening after a failed probe: a fresh full cool-down.
      this.#openedAt = this.#now();
      this.#opens += 1;
    } else if (to === 'closed') {
      // Closing starts a clean slate: the failures that opened it are not held against the recovery.
      this.#epochs.fill(Number.NEGATIVE_INFINITY);
    }
    if (from !== to) this.#onStateChange?.({ from, to, at: this.#now(), ...evidence });
  }
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`UpstreamBreaker: ${name} must be a number greater than 0, got ${String(value)}`);
}

function integer(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new TypeError(`UpstreamBreaker: ${name} must be an integer >= ${min}, got ${String(value)}`);
}
