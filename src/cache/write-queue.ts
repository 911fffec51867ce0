/** Counters of a write queue. */
export interface WriteQueueStats {
  depth: number;
  written: number;
  dropped: number;
  failed: number;
}

/**
 * A bounded queue of background writes with a fixed concurrency. Requests never wait on it:
 * `push` returns at once, and when the queue is full the write is dropped and counted.
 */
export class WriteQueue {
  readonly #capacity: number;
  readonly #concurrency: number;
  readonly #pending: Array<() => Promise<void>> = [];
  #running = 0;
  #idle: Array<() => void> = [];
  readonly #stats: WriteQueueStats = { depth: 0, written: 0, dropped: 0, failed: 0 };

  constructor(options: { capacity: number; concurrency: number }) {
    this.#capacity = options.capacity;
    this.#concurrency = options.concurrency;
  }

  /** Queues a write; resolves when it has run (or at once, false, when dropped). */
  push(write: () => Promise<void>): Promise<boolean> {
    if (this.#pending.length >= this.#capacity) {
      this.#stats.dropped += 1;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      this.#pending.push(() =>
        write().then(
          () => {
            this.#stats.written += 1;
            resolve(true);
          },
          () => {
            this.#stats.failed += 1;
            resolve(false);
          },
        ),
      );
      this.#pump();
    });
  }

  stats(): WriteQueueStats {
    return { ...this.#stats, depth: this.#pending.length + this.#running };
  }

  /** Resolves once every queued write has run, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#pending.length === 0 && this.#running === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#pending.length > 0) {
      const write = this.#pending.shift()!;
      this.#running += 1;
      void write().finally(() => {
        this.#running -= 1;
        this.#pump();
        if (this.#running === 0 && this.#pending.length === 0) for (const wake of this.#idle.splice(0)) wake();
      });
    }
  }
}
