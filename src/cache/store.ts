import type { CacheEntry } from './entry.js';

export type TierName = 'memory' | 'redis' | 'postgres';

export interface TierStats {
  entries: number;
  bytes: number;
}

/**
 * The contract every cache tier implements. Tiers only store: they never decide freshness,
 * never talk to the upstream, and never throw for a missing key.
 */
export interface CacheTier {
  readonly name: TierName;
  get(key: string): Promise<CacheEntry | undefined>;
  set(entry: CacheEntry): Promise<void>;
  delete(key: string): Promise<boolean>;
  clear(): Promise<void>;
  stats(): Promise<TierStats>;
  close(): Promise<void>;
}
