import type { CacheEntry } from './entry.js';
import type { CacheTier, TierName, TierStats } from './store.js';
import type { MemoryTier } from './tiers/memory.js';

const EMPTY_BODY = Buffer.alloc(0);

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
  /** Memory look-ups since start (the shared tiers count their own in GuardedTier). */
  readonly memoryLookups = { hits: 0, misses: 0 };
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
    if (this.memory === null) return undefined;
    const entry = this.memory.peek(key);
    if (entry === undefined || !this.#isCurrent(entry)) {
      if (entry !== undefined) this.memory.remove(key);
      this.memoryLookups.misses += 1;
      return undefined;
    }
    this.memoryLookups.hits += 1;
    return { entry, tier: 'memory' };
  }

  /**
   * The current memory entry for a key, without counting the look-up: the hit lane counts only
   * the hits it serves (`countMemoryHit`), and leaves everything else to `peekMemory`.
   */
  memoryEntry(key: string): CacheEntry | undefined {
    const entry = this.memory?.peek(key);
    return entry !== undefined && this.#isCurrent(entry) ? entry : undefined;
  }

  countMemoryHit(): void {
    this.memoryLookups.hits += 1;
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

  /**
   * Stores a fresh entry in every tier; only the memory write happens before returning. The
   * promise settles (never rejects) once the first shared tier's write has: nobody on the hot
   * path waits for it, but a fill lease is released only then.
   */
  store(entry: CacheEntry): Promise<void> {
    this.memory?.put(entry);
    if (this.#lower.length === 0) return Promise.resolve();
    // Other instances read the first shared tier (Redis) before the others: tell them as soon as
    // that write has settled, without waiting for the slower Postgres write.
    const writes = this.#lower.map((tier) => tier.set(entry));
    return writes[0]!.then(
      () => this.#onStored?.(entry),
      () => this.#onStored?.(entry),
    );
  }

  /**
   * Whether an entry has not been invalidated (by epoch) since it was stored; takes metadata
   * alone — invalidation never looks at the body or headers. For inspection, not the hot path.
   */
  isCurrentEntry(entry: Omit<CacheEntry, 'body' | 'headers'>): boolean {
    return this.#isCurrent({ ...entry, headers: {}, body: EMPTY_BODY });
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
