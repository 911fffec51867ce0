import { Cluster, type Redis } from 'ioredis';
import { envelopeEntryBytes, ENTRY_BYTES_OFFSET } from '../codec.js';
import type { CacheEntry } from '../entry.js';
import { EntryCodec } from '../sealed-codec.js';
import type { CacheTier, EntryDescription, ListableTier, ListOptions, ListPage, TierStats } from '../store.js';
import { RedisKeys } from './redis-keys.js';
import { RedisListing } from './redis-listing.js';

export interface RedisTierOptions {
  /** Owned by the caller, who also closes it. */
  readonly client: Redis | Cluster;
  /** Separates deployments sharing one Redis: letters, digits, "_" and "-". */
  readonly namespace: string;
  /** Bodies larger than this are stored brotli-compressed when that saves bytes. */
  readonly compressAboveBytes: number;
  readonly now?: () => number;
  /** Index members one listing page examines at most (default: redis-listing.ts LIST_SCAN_BUDGET). */
  readonly listScanBudget?: number;
  /** Plain or sealed envelopes (default: plain). */
  readonly codec?: EntryCodec;
}

/** Entries sampled by `stats()` to estimate bytes. */
const BYTES_SAMPLE = 32;
/** Keys per UNLINK / ZSCAN / SCAN round trip in `clear()`. */
const BATCH = 500;
/** How often `set()` also drops expired index members, so the index cannot grow without bound. */
const PRUNE_EVERY_MS = 10_000;

/**
 * L2: entries as binary envelopes (src/cache/codec.ts) in Redis strings that expire by
 * themselves at `staleUntil`, plus one sorted set per namespace indexing the live cache keys
 * (score = staleUntil) for counting, listing and clearing without KEYS (layout: redis-keys.ts).
 * Entry and index are written together but not atomically: an index
 * member can briefly outlive its entry (or an entry Redis evicted under maxmemory), which only
 * overstates `stats().entries` until the member's staleUntil passes.
 */
export class RedisTier implements CacheTier, ListableTier {
  readonly name = 'redis' as const;
  readonly #keys: RedisKeys;
  readonly #client: Redis | Cluster;
  readonly #indexKey: string;
  readonly #compressAboveBytes: number;
  readonly #now: () => number;
  readonly #listing: RedisListing;
  readonly #codec: EntryCodec;
  #lastPruneAt = Number.NEGATIVE_INFINITY;

  constructor(options: RedisTierOptions) {
    this.#codec = options.codec ?? new EntryCodec('redis', null);
    this.#keys = new RedisKeys(options.client, options.namespace, this.#codec.ring !== null);
    this.#client = options.client;
    this.#indexKey = this.#keys.indexKey;
    this.#compressAboveBytes = options.compressAboveBytes;
    this.#now = options.now ?? Date.now;
    this.#listing = new RedisListing(this.#keys, this.#codec, this.#now, options.listScanBudget);
  }

  /** The Redis key an entry is stored under. */
  entryKey(cacheKey: string): string {
    return this.#keys.entryKey(cacheKey);
  }

  /** The sorted set indexing this namespace's live cache keys. */
  get indexKey(): string {
    return this.#indexKey;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const raw = await this.#client.getBuffer(this.entryKey(key));
    if (raw === null) return undefined;
    // An undecodable value (corrupt, unauthentic, or written by something else) reads as a miss.
    const decoded = await this.#codec.decode(raw, key);
    if (decoded === undefined || decoded.entry.staleUntil <= this.#now()) return undefined;
    if (decoded.oldKey) await this.#reseal(decoded.entry);
    return decoded.entry;
  }

  /** Re-seals an entry read under an older key, unless it went away meanwhile (XX); best effort. */
  async #reseal(entry: CacheEntry): Promise<void> {
    const ttlMs = Math.ceil(entry.staleUntil - this.#now());
    if (!(ttlMs > 0)) return;
    const envelope = await this.#codec.encode(entry, this.#compressAboveBytes);
    await this.#client.set(this.entryKey(entry.key), envelope, 'PX', ttlMs, 'XX').catch(() => undefined);
  }

  async set(entry: CacheEntry): Promise<void> {
    const ttlMs = Math.ceil(entry.staleUntil - this.#now());
    if (!(ttlMs > 0)) {
      // Nothing servable to keep, but it must not leave an older version behind either.
      await this.#keys.together([
        ['unlink', this.entryKey(entry.key)],
        ['zrem', this.#indexKey, entry.key],
      ]);
      return;
    }
    const envelope = await this.#codec.encode(entry, this.#compressAboveBytes);
    await this.#keys.together([
      ['set', this.entryKey(entry.key), envelope, 'PX', ttlMs],
      ['zadd', this.#indexKey, entry.staleUntil, entry.key],
    ]);
    const now = this.#now();
    if (now - this.#lastPruneAt >= PRUNE_EVERY_MS) {
      this.#lastPruneAt = now;
      await this.#prune(now);
    }
  }

  async delete(key: string): Promise<boolean> {
    const [unlinked] = await this.#keys.together([
      ['unlink', this.entryKey(key)],
      ['zrem', this.#indexKey, key],
    ]);
    return unlinked === 1;
  }

  /** Removes every entry of this namespace (all format versions), walking the index, then SCAN for stragglers. */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await this.#client.zscan(this.#indexKey, cursor, 'COUNT', BATCH);
      cursor = next;
      const keys: string[] = [];
      // ZSCAN replies member, score, member, score, …
      for (let i = 0; i < flat.length; i += 2) keys.push(this.entryKey(flat[i]!));
      await this.#keys.unlinkMany(keys);
    } while (cursor !== '0');
    await this.#client.unlink(this.#indexKey);

    // Entries whose index member was lost (a set racing this clear, another format version).
    const pattern = `sidecache:${this.#keys.namespace}:v*:e:*`; // plain and sealed
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    for (const node of nodes) {
      let scanCursor = '0';
      do {
        const [next, keys] = await node.scan(scanCursor, 'MATCH', pattern, 'COUNT', BATCH);
        scanCursor = next;
        await this.#keys.unlinkMany(keys);
      } while (scanCursor !== '0');
    }
  }

  /**
   * `entries`: live index members (expired ones are pruned first). `bytes`: the logical size of
   * this namespace's entries (uncompressed envelopes), estimated from a random sample of
   * {@link BYTES_SAMPLE} entries — exact when there are no more than that. Redis itself holds
   * less when bodies are compressed; `INFO memory` has the server-wide figure.
   */
  async stats(): Promise<TierStats> {
    const now = this.#now();
    this.#lastPruneAt = now;
    await this.#prune(now);
    const entries = await this.#client.zcard(this.#indexKey);
    if (entries === 0) return { entries, bytes: 0 };
    const sample = entries <= BYTES_SAMPLE
      ? await this.#client.zrange(this.#indexKey, 0, -1)
      : await this.#client.zrandmember(this.#indexKey, BYTES_SAMPLE);
    const sizes = await Promise.all(
      sample.map(async (member) => {
        // A sealed envelope's size field is inside the ciphertext: the sample is read whole and opened.
        if (this.#codec.ring !== null) {
          const stored = await this.#client.getBuffer(this.entryKey(member));
          return stored === null ? undefined : this.#codec.entryBytes(stored, member);
        }
        const prefix = await this.#client.getrangeBuffer(this.entryKey(member), 0, ENTRY_BYTES_OFFSET + 3);
        return envelopeEntryBytes(prefix);
      }),
    );
    const known = sizes.filter((n): n is number => n !== undefined);
    if (known.length === 0) return { entries, bytes: 0 };
    const mean = known.reduce((a, b) => a + b, 0) / known.length;
    return { entries, bytes: Math.round(mean * entries) };
  }

  /** Nothing to release: the owner of the client closes it. */
  async close(): Promise<void> {}

  listEntries(options: ListOptions): Promise<ListPage> {
    return this.#listing.listEntries(options);
  }

  describeEntry(key: string): Promise<EntryDescription | undefined> {
    return this.#listing.describeEntry(key);
  }

  hasEntries(keys: readonly string[]): Promise<Set<string>> {
    return this.#listing.hasEntries(keys);
  }

  async #prune(now: number): Promise<void> {
    await this.#client.zremrangebyscore(this.#indexKey, '-inf', now);
  }
}
