import { systemClock, type Clock } from './clock.js';
import { SaturatedError } from './errors.js';

/** Gives a slot back. Calling it more than once is a no-op. */
export type Release = () => void;

export interface ConcurrencyLimiterOptions {
  /** Upstream calls in flight at most. */
  readonly maxConcurrent: number;
  /** Callers waiting for a slot at most; 0 = never wait (refuse at once when full). */
  readonly maxQueue: number;
  /** How long a caller waits in the queue before it is refused with `queue_timeout`. */
  readonly queueTimeoutMs: number;
  readonly clock?: Clock;
}

export interface ConcurrencyLimiterStats {
  readonly maxConcurrent: number;
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
}

interface Waiter {
  readonly resolve: (release: Release) => void;
  /** Stops the timeout and the abort listener. */
  dispose(): void;
}

/**
 * Per-upstream bound on concurrent upstream calls with a bounded FIFO wait queue.
 *
 * A released slot goes straight to the oldest waiter (so a late `tryAcquire` can never jump the
 * queue); a waiter leaves the queue when its queue timeout passes or its signal aborts.
 */
export class ConcurrencyLimiter {
  readonly #max: number;
  readonly #maxQueue: number;
  readonly #queueTimeoutMs: number;
  readonly #clock: Clock;
  // A Set iterates in insertion order and deletes in O(1): a FIFO that waiters can leave from the middle.
  readonly #queue = new Set<Waiter>();
  #inFlight = 0;
  #acquired = 0;
  #queueFull = 0;
  #queueTimeout = 0;
  #aborted = 0;

  constructor(options: ConcurrencyLimiterOptions) {
    assertInteger('maxConcurrent', options.maxConcurrent, 1);
    assertInteger('maxQueue', options.maxQueue, 0);
    if (!(Number.isFinite(options.queueTimeoutMs) && options.queueTimeoutMs > 0)) {
      throw new TypeError(`ConcurrencyLimiter: queueTimeoutMs must be a number greater than 0, got ${String(options.queueTimeoutMs)}`);
    }
    this.#max = options.maxConcurrent;
    this.#maxQueue = options.maxQueue;
    this.#queueTimeoutMs = options.queueTimeoutMs;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * A slot now, or after waiting in line. Rejects with `SaturatedError` (`queue_full` at once,
   * `queue_timeout` after `queueTimeoutMs`), or with the signal's reason if it aborts first.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = this.tryAcquire();
    if (release !== null) return Promise.resolve(release);
    if (this.#queue.size >= this.#maxQueue) {
      this.#queueFull += 1;
      return Promise.reject(new SaturatedError('queue_full'));
    }
    return new Promise<Release>((resolve, reject) => {
      const leave = (err: unknown): void => {
        waiter.dispose();
        this.#queue.delete(waiter);
        reject(err);
      };
      const onAbort = (): void => {
        this.#aborted += 1;
        leave(signal!.reason);
      };
      const cancelTimer = this.#clock.setTimeout(() => {
        this.#queueTimeout += 1;
        leave(new SaturatedError('queue_timeout'));
      }, this.#queueTimeoutMs);
      const waiter: Waiter = {
        resolve,
        dispose: () => {
          cancelTimer();
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.add(waiter);
    });
  }

  /** A slot if one is free and nobody is waiting, else null (e.g. to serve stale data instead). */
  tryAcquire(): Release | null {
    if (this.#inFlight >= this.#max || this.#queue.size > 0) return null;
    this.#inFlight += 1;
    this.#acquired += 1;
    return this.#releaser();
  }

  stats(): ConcurrencyLimiterStats {
    return {
      maxConcurrent: this.#max,
      maxQueue: this.#maxQueue,
      inFlight: this.#inFlight,
      queued: this.#queue.size,
      acquired: this.#acquired,
      rejected: this.#queueFull + this.#queueTimeout,
      queueFull: this.#queueFull,
      queueTimeout: this.#queueTimeout,
      aborted: this.#aborted,
    };
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#handOff();
    };
  }

  /** The freed slot passes to the oldest waiter, or back to the pool. */
  #handOff(): void {
    const next = this.#queue.values().next();
    if (next.done) {
      this.#inFlight -= 1;
      return;
    }
    const waiter = next.value;
    this.#queue.delete(waiter);
    waiter.dispose();
    this.#acquired += 1;
    waiter.resolve(this.#releaser());
  }
}

function assertInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`ConcurrencyLimiter: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}
