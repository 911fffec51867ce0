import { setImmediate } from 'node:timers';

/** Work queued during an event-loop turn and done at its end. */
export interface TurnBatch<T> {
  /** Queues the item; the first one of a turn schedules the batch. */
  add(item: T): void;
}

/**
 * Runs each queued item, in arrival order, in one `setImmediate` callback: after the I/O callbacks
 * of the turn that queued them. `run` is given every item even when an earlier one throws; what it
 * throws goes to `failed`.
 */
export function turnBatch<T>(run: (item: T) => void, failed: (err: unknown, item: T) => void): TurnBatch<T> {
  let queued: T[] = [];
  function flush(): void {
    const items = queued;
    queued = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      try {
        run(item);
      } catch (err) {
        failed(err, item);
      }
    }
  }
  return {
    add(item) {
      if (queued.push(item) === 1) setImmediate(flush);
    },
  };
}
