import type { CacheEntry } from '../../src/cache/entry.js';
import type { CacheTier, TierName, TierStats } from '../../src/cache/store.js';

/** A Map-backed tier whose calls can be made to fail or hang, for failure-policy tests. */
export class ChaosTier implements CacheTier {
  readonly name: TierName;
  readonly entries = new Map<string, CacheEntry>();
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  calls = 0;

  constructor(name: TierName = 'redis') {
    this.name = name;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    await this.#chaos();
    return this.entries.get(key);
  }

  async set(entry: CacheEntry): Promise<void> {
    await this.#chaos();
    this.entries.set(entry.key, entry);
  }

  async delete(key: string): Promise<boolean> {
    await this.#chaos();
    return this.entries.delete(key);
  }

  async clear(): Promise<void> {
    await this.#chaos();
    this.entries.clear();
  }

  async stats(): Promise<TierStats> {
    await this.#chaos();
    return { entries: this.entries.size, bytes: 0 };
  }

  async close(): Promise<void> {}

  async #chaos(): Promise<void> {
    this.calls += 1;
    if (this.mode === 'fail') throw new Error('chaos: connection refused');
    if (this.mode === 'hang') await new Promise(() => undefined);
  }
}
