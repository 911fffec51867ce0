import type { CacheEntry } from './entry.js';
import type { CacheTier, TierName, TierStats } from './store.js';
import type { MemoryTier } from './tiers/memory.js';

/** A look-up answered by some tier. */
export interface TierHit {
  readonly entry: CacheEntry;
  readonly tier: TierName;
}

/**
 * The tiers in read order: memory first (synchronous), then the shared tiers. A hit in a lower
 * tier is promoted to every tier above it with its own absolute expiry, so promotion never
 * extends an entry's life.
 */
export class TierStack {
  readonly memory: MemoryTier | null;
  readonly #lower: readonly CacheTier[];
  readonly #now: () => number;
  readonly #onStored: ((entry: CacheEntry) => void) | undefined;
  readonly #isCurrent: (entry: CacheEntry) => boolean;

  constructor(options: {
    memory: MemoryTier | null;
    lower?: readonly CacheTier[];
    now?: () => number;
    /** Called once the entry's write to the first lower tier has settled (e.g. to tell other instances). */
    onStored?: (entry: CacheEntry) => void;
    /** False for an entry invalidated since it was fetched; such entries are never served. */
    isCurrent?: (entry: CacheEntry) => boolean;
  }) {
    this.memory = options.memory;
    this.#lower = options.lower ?? [];
    this.#now = options.now ?? Date.now;
    this.#onStored = options.onStored;
    this.#isCurrent = options.isCurrent ?? (() => true);
  }

  get lower(): readonly CacheTier[] {
    return this.#lower;
  }

  get tiers(): readonly CacheTier[] {
    return this.memory === null ? this.#lower : [this.memory, ...this.#lower];
  }

  /** Memory look-up without a promise, for the hot path. */
  peekMemory(key: string): TierHit | undefined {
    const entry = this.memory?.peek(key);
    if (entry === undefined) return undefined;
    if (!this.#isCurrent(entry)) {
      this.memory!.remove(key);
      return undefined;
    }
    return { entry, tier: 'memory' };
  }

  /** Looks through the tiers below memory in order, promoting a hit upwards. */
  async lookupLower(key: string): Promise<TierHit | undefined> {
    for (let i = 0; i < this.#lower.length; i++) {
      const tier = this.#lower[i]!;
      const entry = await tier.get(key);
      if (entry === undefined || entry.staleUntil <= this.#now() || !this.#isCurrent(entry)) continue;
      this.memory?.put(entry);
      for (let j = 0; j < i; j++) void this.#lower[j]!.set(entry);
      return { entry, tier: tier.name };
    }
    return undefined;
  }

  /** Stores a fresh entry in every tier; only the memory write happens before returning. */
  store(entry: CacheEntry): void {
    this.memory?.put(entry);
    if (this.#lower.length === 0) return;
    // Other instances read the first shared tier (Redis) before the others: tell them as soon as
    // that write has settled, without waiting for the slower Postgres write.
    const writes = this.#lower.map((tier) => tier.set(entry));
    void writes[0]!.then(
      () => this.#onStored?.(entry),
      () => this.#onStored?.(entry),
    );
  }

  async delete(key: string): Promise<void> {
    await Promise.all(this.tiers.map((tier) => tier.delete(key)));
  }

  async stats(): Promise<Record<string, TierStats>> {
    const out: Record<string, TierStats> = {};
    for (const tier of this.tiers) out[tier.name] = await tier.stats();
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.tiers.map((tier) => tier.close()));
  }
}
