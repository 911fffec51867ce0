import { systemClock, type Clock } from './clock.js';

/*
 * Why adaptive: a fixed limit is wrong twice. Set for a slow day it refuses a healthy upstream's
 * capacity (a cold burst of 1,000 misses at concurrency 200 against a 300 ms upstream was 830 x
 * 503 at a fixed 32); set for a good day it keeps piling calls onto an upstream that has slowed
 * down. Latency is the signal that needs no knowledge of the upstream: by Little's law, calls in
 * flight = throughput x latency, so while latency holds, more concurrency buys more throughput,
 * and when latency climbs, the extra calls only queue inside the upstream.
 *
 * The algorithm is windowed AIMD with a gradient-sized decrease, after Netflix concurrency-limits
 * (`AIMDLimit`, `Gradient2Limit`, `WindowedLimit`): samples are pooled into windows (at least
 * WINDOW_MS and MIN_SAMPLES, judged on the next sample or read of the limit, so that calls
 * admitted together and finishing together cannot hold a verdict back by a whole round trip),
 * and each window moves the limit once:
 *
 * - failing (at least DROP_SHARE of its calls dropped: timeout, connection error, 5xx, 429):
 *   limit x BACKOFF;
 * - slow (mean round trip above latencyTolerance x baseline): limit x (tolerance x baseline /
 *   rtt), kept within [MAX_CUT, BACKOFF]: a tenfold slowdown halves the limit every window;
 * - healthy and used (in-flight reached the limit during the window): limit x 2 until the first
 *   window that cut the limit (slow start, as TCP's: a cold burst at start-up reaches the
 *   upstream's real capacity in a few windows, not dozens), then limit + sqrt(limit), at least 1
 *   (Gradient2's queue allowance); an under-used limit never grows, so it cannot drift upwards.
 *   Measured (bench scenario 9, 1,000 cold URLs at concurrency 200, upstream 300 ms): the burst
 *   took 7.2 s growing by sqrt from 32, 4.2 s with slow start (the naive peer, unlimited: 1.8 s).
 *
 * The baseline is a long-run average that falls fast (BASELINE_FALL, a faster upstream is news)
 * and rises slowly (BASELINE_RISE per window, about a minute), so a lasting slowdown is accepted
 * as the new normal only after it lasted, as Gradient2's long RTT does. Time is read from the
 * clock on each sample and each read of the limit; the class has no timers.
 */

/** Shortest window; a window also needs MIN_SAMPLES before it is judged. */
export const WINDOW_MS = 1_000;
export const MIN_SAMPLES = 10;
/** Share of dropped calls that makes a window a failing one (a trickle of 5xx does not). */
const DROP_SHARE = 0.05;
/** Multiplicative decrease on failures, and the smallest cut on a slow window. */
const BACKOFF = 0.9;
/** The deepest cut one window can make. */
const MAX_CUT = 0.5;
/** How far one window moves the baseline towards a faster, or a slower, mean round trip. */
const BASELINE_FALL = 0.5;
const BASELINE_RISE = 1 / 60;

export interface AdaptiveLimitOptions {
  /** The limit before any window was judged. */
  readonly initial: number;
  readonly min: number;
  /** Keep at or below the upstream pool's connections, or undici queues the excess out of sight. */
  readonly max: number;
  /** A window whose mean round trip exceeds this multiple of the baseline is slow (> 1). */
  readonly latencyTolerance: number;
  readonly clock?: Pick<Clock, 'now'>;
}

/** One finished upstream call, as the limiter reports it. */
export interface LimitSample {
  /** From getting the slot to the response headers (not used when dropped). */
  readonly rttMs: number;
  /** The call failed: timeout, connection error, 5xx, 429 or request-limit 403. */
  readonly dropped: boolean;
  /** Calls in flight when this one started, itself included. */
  readonly inFlight: number;
}

/** What a `ConcurrencyLimiter` asks of its limit. */
export interface ConcurrencyLimit {
  /** Calls that may be in flight now (an integer >= 1). */
  readonly current: number;
  sample(sample: LimitSample): void;
}

export interface AdaptiveLimitStats {
  readonly limit: number;
  /** Null until the first window was judged. */
  readonly baselineRttMs: number | null;
  /** Mean round trip of the last judged window with a successful call, else null. */
  readonly windowRttMs: number | null;
  readonly increases: number;
  readonly decreases: number;
}

/** A concurrency limit that grows while latency holds and shrinks when latency rises or calls fail. */
export class AdaptiveLimit implements ConcurrencyLimit {
  readonly #min: number;
  readonly #max: number;
  readonly #tolerance: number;
  readonly #now: () => number;
  #limit: number;
  #baseline: number | null = null;
  #lastRtt: number | null = null;
  #increases = 0;
  #decreases = 0;
  /** Doubling while healthy, until the first cut. */
  #slowStart = true;
  #windowStart: number;
  #samples = 0;
  #drops = 0;
  #rttSum = 0;
  #peakInFlight = 0;

  constructor(options: AdaptiveLimitOptions) {
    const { initial, min, max, latencyTolerance } = options;
    integer('min', min, 1);
    integer('max', max, min);
    integer('initial', initial, min);
    if (initial > max) throw new TypeError(`AdaptiveLimit: initial must be <= max (${max}), got ${initial}`);
    if (!(Number.isFinite(latencyTolerance) && latencyTolerance > 1)) {
      throw new TypeError(`AdaptiveLimit: latencyTolerance must be a number above 1, got ${String(latencyTolerance)}`);
    }
    this.#min = min;
    this.#max = max;
    this.#tolerance = latencyTolerance;
    this.#limit = initial;
    const clock = options.clock ?? systemClock;
    this.#now = () => clock.now();
    this.#windowStart = this.#now();
  }

  /** A limit that never moves (min = max = initial). */
  static fixed(limit: number): AdaptiveLimit {
    return new AdaptiveLimit({ initial: limit, min: limit, max: limit, latencyTolerance: 2 });
  }

  /** Reading it settles a window that is due, so the limit moves even while no call completes. */
  get current(): number {
    this.#settle();
    return Math.floor(this.#limit);
  }

  sample(sample: LimitSample): void {
    if (this.#min === this.#max) return;
    this.#samples += 1;
    if (sample.dropped) this.#drops += 1;
    else this.#rttSum += Math.max(0, sample.rttMs);
    if (sample.inFlight > this.#peakInFlight) this.#peakInFlight = sample.inFlight;
    this.#settle();
  }

  stats(): AdaptiveLimitStats {
    return { limit: this.current, baselineRttMs: this.#baseline, windowRttMs: this.#lastRtt, increases: this.#increases, decreases: this.#decreases };
  }

  #settle(): void {
    if (this.#samples < MIN_SAMPLES) return;
    const now = this.#now();
    if (now - this.#windowStart < WINDOW_MS) return;
    this.#judge();
    this.#windowStart = now;
    this.#samples = 0;
    this.#drops = 0;
    this.#rttSum = 0;
    this.#peakInFlight = 0;
  }

  #judge(): void {
    const succeeded = this.#samples - this.#drops;
    const rtt = succeeded > 0 ? this.#rttSum / succeeded : null;
    if (rtt !== null) this.#lastRtt = rtt;
    this.#baseline ??= rtt;
    const baseline = this.#baseline;
    if (this.#drops >= this.#samples * DROP_SHARE) {
      this.#decrease(BACKOFF);
    } else if (rtt !== null && baseline !== null && rtt > this.#tolerance * baseline) {
      this.#decrease(Math.min(BACKOFF, Math.max(MAX_CUT, (this.#tolerance * baseline) / rtt)));
    } else if (this.#peakInFlight >= Math.floor(this.#limit)) {
      const step = this.#slowStart ? this.#limit : Math.max(1, Math.sqrt(this.#limit));
      const next = Math.min(this.#max, this.#limit + step);
      if (next > this.#limit) this.#increases += 1;
      this.#limit = next;
    }
    if (rtt !== null && baseline !== null) this.#baseline = baseline + (rtt - baseline) * (rtt < baseline ? BASELINE_FALL : BASELINE_RISE);
  }

  #decrease(factor: number): void {
    this.#slowStart = false;
    const next = Math.max(this.#min, this.#limit * factor);
    if (next < this.#limit) this.#decreases += 1;
    this.#limit = next;
  }
}

function integer(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new TypeError(`AdaptiveLimit: ${name} must be an integer >= ${min}, got ${String(value)}`);
}
