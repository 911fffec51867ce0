import { LRUCache } from 'lru-cache';
import type { MemoryTierConfig } from '../../config/types.js';
import { entrySize, type CacheEntry } from '../entry.js';
import type { CacheTier, TierStats } from '../store.js';

/** L1: an lru-cache bounded by entry count and by bytes; expired entries are dropped on read. */
export class MemoryTier implements CacheTier {
  readonly name = 'memory' as const;
  readonly #lru: LRUCache<string, CacheEntry>;
  readonly #now: () => number;

  constructor(config: Pick<MemoryTierConfig, 'maxBytes' | 'maxEntries'>, now: () => number = Date.now) {
    this.#now = now;
    this.#lru = new LRUCache<string, CacheEntry>({
      max: config.maxEntries,
      maxSize: config.maxBytes,
      maxEntrySize: config.maxBytes,
      sizeCalculation: entrySize,
    });
  }

  /** Synchronous read for the hot path; undefined once the entry's stale window has passed. */
  peek(key: string): CacheEntry | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (entry.staleUntil <= this.#now()) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Synchronous write; an entry already past its stale window replaces nothing and is not kept. */
  put(entry: CacheEntry): void {
    if (entry.staleUntil > this.#now()) this.#lru.set(entry.key, entry);
    else this.#lru.delete(entry.key);
  }

  /** Keys currently held, most recently used first. */
  keys(): IterableIterator<string> {
    return this.#lru.keys();
  }

  remove(key: string): boolean {
    return this.#lru.delete(key);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    return this.peek(key);
  }

  async set(entry: CacheEntry): Promise<void> {
    this.put(entry);
  }

  async delete(key: string): Promise<boolean> {
    return this.remove(key);
  }

  async clear(): Promise<void> {
    this.#lru.clear();
  }

  async stats(): Promise<TierStats> {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}
