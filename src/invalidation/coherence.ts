import type { MemoryTier } from '../cache/tiers/memory.js';
import type { InvalidationBus } from './bus.js';
import type { BusMessage } from './messages.js';

/** How long stored keys are gathered into one bus message; well inside the 100 ms target. */
const BATCH_MS = 10;

/**
 * Keeps memory tiers of several instances coherent: when this instance stores (or drops) an
 * entry in the shared tiers it tells the others, which evict their memory copy and read the
 * new one from Redis or Postgres on their next request.
 */
export class Coherence {
  readonly #bus: InvalidationBus;
  readonly #memory: MemoryTier | null;
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  evicted = 0;

  constructor(bus: InvalidationBus, memory: MemoryTier | null) {
    this.#bus = bus;
    this.#memory = memory;
    bus.onMessage((message) => this.#apply(message));
    // Pub/sub is at-most-once: whatever was published while we were disconnected is lost, so
    // after a reconnect nothing in memory can be trusted to be current.
    bus.onReconnect(() => void memory?.clear());
  }

  /** Announces a stored entry; keys are batched for a few milliseconds. */
  stored(key: string): void {
    this.#pending.add(key);
    this.#timer ??= setTimeout(() => this.#flush(), BATCH_MS);
  }

  /** Announces removed keys at once (invalidation must not wait for a batch). */
  async evict(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.#bus.publish({ type: 'evict', keys: [...keys] });
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#flush();
  }

  async #flush(): Promise<void> {
    this.#timer = null;
    const keys = [...this.#pending];
    this.#pending = new Set();
    await this.evict(keys);
  }

  #apply(message: BusMessage): void {
    if (this.#memory === null) return;
    if (message.type === 'evict') {
      for (const key of message.keys) if (this.#memory.remove(key)) this.evicted += 1;
    } else if (message.type === 'clear') {
      void this.#memory.clear();
    }
  }
}
