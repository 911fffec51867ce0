import { AdaptiveLimit, type ConcurrencyLimit, type LimitSample } from './adaptive-limit.js';
import { systemClock, type Clock } from './clock.js';
import { SaturatedError } from './errors.js';

/** How a finished call went, for the limit: omit it when the call ended without a verdict. */
export type CallOutcome = Pick<LimitSample, 'rttMs' | 'dropped'>;

/** Gives a slot back, with the call's outcome when it has one. Calling it more than once is a no-op. */
export type Release = (outcome?: CallOutcome) => void;

/**
 * Share of the limit that bulk calls (request bodies streamed from the client as they arrive)
 * may hold at once, at least one slot: however slowly their clients send, the rest of the slots
 * stay free for everyone else.
 */
export const BULK_SHARE = 0.5;

export interface AcquireOptions {
  /** The call streams a client's body: it counts against `BULK_SHARE`. */
  readonly bulk?: boolean;
}

export interface ConcurrencyLimiterOptions {
  /** Calls in flight at most: a fixed number, or a limit that moves with each call's outcome. */
  readonly limit: number | ConcurrencyLimit;
  /** Callers waiting for a slot at most (a memory guard); 0 = never wait (refuse at once when full). */
  readonly maxQueue: number;
  /** How long a caller waits in the queue before it is refused with `queue_timeout`. */
  readonly queueTimeoutMs: number;
  readonly clock?: Clock;
}

export interface ConcurrencyLimiterStats {
  /** The limit now. */
  readonly limit: number;
  readonly maxQueue: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Slots handed out since start (immediately or after a wait). */
  readonly acquired: number;
  /** Refusals since start: `queueFull + queueTimeout`. */
  readonly rejected: number;
  readonly queueFull: number;
  readonly queueTimeout: number;
  /** Waiters whose signal aborted before they got a slot (not counted as rejected). */
  readonly aborted: number;
  /** Bulk calls in flight, and at most how many may be. */
  readonly bulkInFlight: number;
  readonly bulkLimit: number;
}

interface Waiter {
  readonly bulk: boolean;
  /** When it is refused with `queue_timeout` (epoch ms). */
  readonly deadline: number;
  readonly resolve: (release: Release) => void;
  readonly reject: (err: unknown) => void;
  /** Removes the abort listener. */
  readonly dispose: () => void;
}

/**
 * Per-upstream bound on concurrent upstream calls, with a FIFO queue whose waiters each wait
 * until their own deadline (`queueTimeoutMs` after they arrived).
 *
 * Freed slots (and slots a grown limit adds) go to the oldest waiters first, so a late
 * `tryAcquire` can never jump the queue; a waiter leaves when its deadline passes or its signal
 * aborts. Every waiter has the same timeout, so deadlines run in queue order and one timer, set
 * for the oldest waiter, serves the whole queue.
 *
 * Bulk calls may hold at most `BULK_SHARE` of the limit. A bulk waiter held back by that share
 * does not hold up the waiters behind it, and its round trip (which includes the client's upload
 * time) is not a sample of the upstream's latency.
 */
export class ConcurrencyLimiter {
  readonly #limit: ConcurrencyLimit;
  readonly #maxQueue: number;
  readonly #queueTimeoutMs: number;
  readonly #clock: Clock;
  // A Set iterates in insertion order and deletes in O(1): a FIFO that waiters can leave from the middle.
  readonly #queue = new Set<Waiter>();
  #cancelTimer: (() => void) | null = null;
  #inFlight = 0;
  #bulkInFlight = 0;
  /** Waiters that are not bulk: only these keep a `tryAcquire` out while bulk waiters wait for their share. */
  #queuedOthers = 0;
  #acquired = 0;
  #queueFull = 0;
  #queueTimeout = 0;
  #aborted = 0;

  constructor(options: ConcurrencyLimiterOptions) {
    if (typeof options.limit === 'number') assertInteger('limit', options.limit, 1);
    assertInteger('maxQueue', options.maxQueue, 0);
    if (!(Number.isFinite(options.queueTimeoutMs) && options.queueTimeoutMs > 0)) {
      throw new TypeError(`ConcurrencyLimiter: queueTimeoutMs must be a number greater than 0, got ${String(options.queueTimeoutMs)}`);
    }
    this.#limit = typeof options.limit === 'number' ? AdaptiveLimit.fixed(options.limit) : options.limit;
    this.#maxQueue = options.maxQueue;
    this.#queueTimeoutMs = options.queueTimeoutMs;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * A slot now, or after waiting in line. Rejects with `SaturatedError` (`queue_full` at once,
   * `queue_timeout` after `queueTimeoutMs`), or with the signal's reason if it aborts first.
   */
  acquire(signal?: AbortSignal, options: AcquireOptions = {}): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const bulk = options.bulk === true;
    const release = this.tryAcquire(options);
    if (release !== null) return Promise.resolve(release);
    if (this.#queue.size >= this.#maxQueue) {
      this.#queueFull += 1;
      return Promise.reject(new SaturatedError('queue_full'));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        this.#aborted += 1;
        this.#leave(waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        bulk,
        deadline: this.#clock.now() + this.#queueTimeoutMs,
        resolve,
        reject,
        dispose: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.add(waiter);
      if (!bulk) this.#queuedOthers += 1;
      if (this.#cancelTimer === null) this.#armTimer(this.#queueTimeoutMs);
    });
  }

  /**
   * A slot if one is free and nobody who could take it is waiting, else null (e.g. to serve stale
   * data instead). Waiting bulk calls are all held back by their share (any other would have been
   * admitted when the slot came free), so they do not keep other calls out.
   */
  tryAcquire(options: AcquireOptions = {}): Release | null {
    if (this.#inFlight >= this.#limit.current) return null;
    if (options.bulk === true ? this.#queue.size > 0 || this.#bulkInFlight >= this.#bulkLimit() : this.#queuedOthers > 0) return null;
    return this.#take(options.bulk === true);
  }

  stats(): ConcurrencyLimiterStats {
    return {
      limit: this.#limit.current,
      maxQueue: this.#maxQueue,
      inFlight: this.#inFlight,
      queued: this.#queue.size,
      acquired: this.#acquired,
      rejected: this.#queueFull + this.#queueTimeout,
      queueFull: this.#queueFull,
      queueTimeout: this.#queueTimeout,
      aborted: this.#aborted,
      bulkInFlight: this.#bulkInFlight,
      bulkLimit: this.#bulkLimit(),
    };
  }

  #bulkLimit(): number {
    return Math.max(1, Math.floor(this.#limit.current * BULK_SHARE));
  }

  #take(bulk: boolean): Release {
    this.#inFlight += 1;
    if (bulk) this.#bulkInFlight += 1;
    this.#acquired += 1;
    const inFlight = this.#inFlight;
    let released = false;
    return (outcome) => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
      if (bulk) this.#bulkInFlight -= 1;
      else if (outcome !== undefined) this.#limit.sample({ ...outcome, inFlight });
      this.#admitWaiters();
    };
  }

  /** Hands free slots to the oldest waiters (the limit may have grown as well as a slot freed). */
  #admitWaiters(): void {
    for (const waiter of this.#queue) {
      if (this.#inFlight >= this.#limit.current) break;
      if (waiter.bulk && this.#bulkInFlight >= this.#bulkLimit()) continue;
      this.#leave(waiter);
      waiter.resolve(this.#take(waiter.bulk));
    }
  }

  #leave(waiter: Waiter): void {
    waiter.dispose();
    if (!waiter.bulk) this.#queuedOthers -= 1;
    this.#queue.delete(waiter);
    if (this.#queue.size === 0) {
      this.#cancelTimer?.();
      this.#cancelTimer = null;
    }
  }

  /** Refuses every waiter whose deadline has passed, then waits for the next one's. */
  #expire(): void {
    this.#cancelTimer = null;
    const now = this.#clock.now();
    for (const waiter of this.#queue) {
      if (waiter.deadline > now) {
        this.#armTimer(waiter.deadline - now);
        return;
      }
      this.#queueTimeout += 1;
      this.#leave(waiter);
      waiter.reject(new SaturatedError('queue_timeout'));
    }
  }

  #armTimer(ms: number): void {
    this.#cancelTimer = this.#clock.setTimeout(() => this.#expire(), ms);
  }
}

function assertInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`ConcurrencyLimiter: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}
