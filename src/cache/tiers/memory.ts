import { LRUCache } from 'lru-cache';
import type { MemoryTierConfig } from '../../config/types.js';
import { entrySize, type CacheEntry } from '../entry.js';
import { describeOf, entryMeta, listPosition, type CacheTier, type EntryDescription, type ListableTier, type ListOptions, type ListPage, type TierStats } from '../store.js';

/** L1: an lru-cache bounded by entry count and by bytes; expired entries are dropped on read. */
export class MemoryTier implements CacheTier, ListableTier {
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
    return this.size();
  }

  /** Entries and bytes held, synchronously (both are kept by lru-cache, O(1)). */
  size(): TierStats {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize };
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }

  /**
   * Live entries ordered by (upstream, path, key). lru-cache has no ordered index, so every page
   * walks all entries (O(n), n <= maxEntries) keeping only the `limit` smallest after the
   * position: no copies, no bodies touched, memory O(limit). Reads do not change recency.
   */
  async listEntries(options: ListOptions): Promise<ListPage> {
    const after = options.after === undefined ? undefined : (listPosition.decode(options.after, ['string', 'string', 'string']) as Position);
    const { upstream, prefix, limit } = options;
    const now = this.#now();
    let kept: CacheEntry[] = [];
    // After a cut, the largest entry kept: anything not below it cannot make the page.
    let bound: CacheEntry | undefined;
    // forEach rather than values(): no generator step per entry (the walk is most of the cost).
    this.#lru.forEach((entry) => {
      if (entry.staleUntil <= now) return;
      if (upstream !== undefined && entry.upstream !== upstream) return;
      if (prefix !== undefined && !entry.path.startsWith(prefix)) return;
      if (bound !== undefined && compareEntries(entry, bound) >= 0) return;
      if (after !== undefined && compareToPosition(entry, after) <= 0) return;
      kept.push(entry);
      // Sort and cut now and then, so the working set stays O(limit) whatever the tier holds.
      if (kept.length >= 4 * (limit + 1)) {
        kept = smallest(kept, limit + 1);
        bound = kept[kept.length - 1];
      }
    });
    kept = smallest(kept, limit + 1);
    const page = kept.slice(0, limit);
    const last = page[page.length - 1];
    return {
      entries: page.map(entryMeta),
      next: kept.length > limit && last !== undefined ? listPosition.encode([last.upstream, last.path, last.key]) : null,
    };
  }

  async describeEntry(key: string): Promise<EntryDescription | undefined> {
    const entry = this.#live(key);
    if (entry === undefined) return undefined;
    const { body, ...fields } = entry;
    return describeOf(fields, body.length);
  }

  /** The whole live entry, for admin inspection: no recency change, no eviction. */
  inspect(key: string): CacheEntry | undefined {
    return this.#live(key);
  }

  async hasEntries(keys: readonly string[]): Promise<Set<string>> {
    return new Set(keys.filter((key) => this.#live(key) !== undefined));
  }

  /** The entry if live, without touching its recency (lru-cache `peek`). */
  #live(key: string): CacheEntry | undefined {
    const entry = this.#lru.peek(key);
    return entry !== undefined && entry.staleUntil > this.#now() ? entry : undefined;
  }
}

type Position = [upstream: string, path: string, key: string];

function compareToPosition(entry: CacheEntry, [upstream, path, key]: Position): number {
  return compare(entry.upstream, upstream) || compare(entry.path, path) || compare(entry.key, key);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareEntries(a: CacheEntry, b: CacheEntry): number {
  return compare(a.upstream, b.upstream) || compare(a.path, b.path) || compare(a.key, b.key);
}

function smallest(entries: CacheEntry[], n: number): CacheEntry[] {
  return entries.sort(compareEntries).slice(0, n);
}
