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
  /** Stored keys not yet announced, with the newest storedAt seen for each. */
  #pending = new Map<string, number>();
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
  stored(key: string, storedAt: number): void {
    this.#pending.set(key, Math.max(storedAt, this.#pending.get(key) ?? storedAt));
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
    const pending = this.#pending;
    this.#pending = new Map();
    if (pending.size > 0) await this.#bus.publish({ type: 'evict', keys: [...pending.keys()], storedAt: [...pending.values()] });
  }

  #apply(message: BusMessage): void {
    const memory = this.#memory;
    if (memory === null) return;
    if (message.type === 'evict') {
      message.keys.forEach((key, i) => {
        // This instance may have read the announced entry from Redis (and promoted it) before
        // the announcement arrived: that copy is the announced one, and evicting it would only
        // send the next request back to Redis. Equality, not "at least as new": storedAt comes
        // from the storing instance's clock, and clocks of instances differ.
        const announcedAt = message.storedAt?.[i];
        if (announcedAt !== undefined && memory.inspect(key)?.storedAt === announcedAt) return;
        if (memory.remove(key)) this.evicted += 1;
      });
    } else if (message.type === 'clear') {
      void memory.clear();
    }
  }
}
