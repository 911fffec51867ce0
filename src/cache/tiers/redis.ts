import { Cluster, type Redis } from 'ioredis';
import { decodeEntry, decodeEntryMeta, encodeEntry, envelopeEntryBytes, ENTRY_BYTES_OFFSET } from '../codec.js';
import { ENTRY_FORMAT_VERSION, type CacheEntry } from '../entry.js';
import {
  describeOf,
  listPosition,
  metaOf,
  type CacheTier,
  type EntryDescription,
  type EntryMeta,
  type ListableTier,
  type ListOptions,
  type ListPage,
  type TierStats,
} from '../store.js';

export interface RedisTierOptions {
  /** Owned by the caller, who also closes it. */
  readonly client: Redis | Cluster;
  /** Separates deployments sharing one Redis: letters, digits, "_" and "-". */
  readonly namespace: string;
  /** Bodies larger than this are stored brotli-compressed when that saves bytes. */
  readonly compressAboveBytes: number;
  readonly now?: () => number;
  /** Index members one listing page examines at most (default LIST_SCAN_BUDGET). */
  readonly listScanBudget?: number;
}

/** Entries sampled by `stats()` to estimate bytes. */
const BYTES_SAMPLE = 32;
/** Keys per UNLINK / ZSCAN / SCAN round trip in `clear()`. */
const BATCH = 500;
/** How often `set()` also drops expired index members, so the index cannot grow without bound. */
const PRUNE_EVERY_MS = 10_000;
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Envelope bytes read per entry for listings (GETRANGE): the fixed header, key, path, tags and
 * usual headers fit; an entry with more header bytes is re-read with the larger prefix, and only
 * beyond that in full.
 */
const META_PREFIX_BYTES = 2_048;
const META_PREFIX_RETRY_BYTES = 65_536;
/** Index members one listing page examines at most, whatever its filters: bounded work per page. */
const LIST_SCAN_BUDGET = 5_000;
/** Index members fetched (and their envelope heads read) per round trip while listing, at most. */
const LIST_BATCH = 500;

/**
 * L2: entries as binary envelopes (src/cache/codec.ts) in Redis strings that expire by
 * themselves at `staleUntil`, plus one sorted set per namespace indexing the live cache keys
 * (score = staleUntil) for counting, listing and clearing without KEYS.
 *
 *   sidecache:<ns>:v<format>:e:<cacheKey>   the envelope, PX = staleUntil - now
 *   sidecache:<ns>:v<format>:idx            ZSET cacheKey -> staleUntil
 *
 * No command spans the entry and index keys, so it runs unchanged on Redis Cluster (where they
 * live in different slots). Entry and index are written together but not atomically: an index
 * member can briefly outlive its entry (or an entry Redis evicted under maxmemory), which only
 * overstates `stats().entries` until the member's staleUntil passes.
 */
export class RedisTier implements CacheTier, ListableTier {
  readonly name = 'redis' as const;
  readonly #client: Redis | Cluster;
  readonly #namespace: string;
  readonly #prefix: string;
  readonly #indexKey: string;
  readonly #compressAboveBytes: number;
  readonly #now: () => number;
  readonly #listScanBudget: number;
  #lastPruneAt = Number.NEGATIVE_INFINITY;

  constructor(options: RedisTierOptions) {
    if (!NAMESPACE_PATTERN.test(options.namespace)) {
      throw new TypeError(`RedisTier: namespace must be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(options.namespace)}`);
    }
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#prefix = `sidecache:${options.namespace}:v${ENTRY_FORMAT_VERSION}:e:`;
    this.#indexKey = `sidecache:${options.namespace}:v${ENTRY_FORMAT_VERSION}:idx`;
    this.#compressAboveBytes = options.compressAboveBytes;
    this.#now = options.now ?? Date.now;
    this.#listScanBudget = options.listScanBudget ?? LIST_SCAN_BUDGET;
  }

  /** The Redis key an entry is stored under. */
  entryKey(cacheKey: string): string {
    return this.#prefix + cacheKey;
  }

  /** The sorted set indexing this namespace's live cache keys. */
  get indexKey(): string {
    return this.#indexKey;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const raw = await this.#client.getBuffer(this.entryKey(key));
    if (raw === null) return undefined;
    const entry = await decodeEntry(raw);
    // An undecodable value (corrupt, or written by something else) reads as a miss.
    if (entry === undefined || entry.key !== key || entry.staleUntil <= this.#now()) return undefined;
    return entry;
  }

  async set(entry: CacheEntry): Promise<void> {
    const ttlMs = Math.ceil(entry.staleUntil - this.#now());
    if (!(ttlMs > 0)) {
      // Nothing servable to keep, but it must not leave an older version behind either.
      await this.#together([
        ['unlink', this.entryKey(entry.key)],
        ['zrem', this.#indexKey, entry.key],
      ]);
      return;
    }
    const envelope = await encodeEntry(entry, { compressAboveBytes: this.#compressAboveBytes });
    await this.#together([
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
    const [unlinked] = await this.#together([
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
      await this.#unlinkMany(keys);
    } while (cursor !== '0');
    await this.#client.unlink(this.#indexKey);

    // Entries whose index member was lost (a set racing this clear, another format version).
    const pattern = `sidecache:${this.#namespace}:v*:e:*`;
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    for (const node of nodes) {
      let scanCursor = '0';
      do {
        const [next, keys] = await node.scan(scanCursor, 'MATCH', pattern, 'COUNT', BATCH);
        scanCursor = next;
        await this.#unlinkMany(keys);
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

  /**
   * Live entries in index order: staleUntil, then key (the sorted set's own order, so no other
   * index is needed). The position is the last (staleUntil, key) seen; the walk resumes at its
   * rank, found with two ZCOUNTs and a binary search among equal scores, so it holds whether or
   * not that entry is still there. Per page: at most LIST_SCAN_BUDGET index members and one
   * GETRANGE of the envelope head per member that passes the key-prefix filter — never a body.
   * An upstream filter is free (keys start with `<upstream>:`); a path prefix is checked on the
   * decoded head, so a selective prefix can give short pages: follow `next` until null. An entry
   * rewritten during a walk moves to its new staleUntil and may be listed again (or, if its
   * staleUntil moved backwards past the walk, not at all).
   */
  async listEntries(options: ListOptions): Promise<ListPage> {
    const { upstream, prefix, limit } = options;
    const now = this.#now();
    const after = options.after === undefined ? undefined : (listPosition.decode(options.after, ['number', 'string']) as [number, string]);
    let rank = after !== undefined && after[0] > now ? await this.#rankAfter(after[0], after[1]) : await this.#client.zcount(this.#indexKey, '-inf', now);
    const keyPrefix = upstream === undefined ? undefined : `${upstream}:`;
    const entries: EntryMeta[] = [];
    let last: [number, string] | undefined;
    // The first batch is the page (and one more); when filters thin it out, batches double.
    let batch = Math.min(limit + 1, LIST_BATCH);
    for (let scanned = 0; scanned < this.#listScanBudget; batch = Math.min(batch * 2, LIST_BATCH)) {
      const count = Math.min(batch, this.#listScanBudget - scanned);
      const flat = await this.#client.zrange(this.#indexKey, rank, rank + count - 1, 'WITHSCORES');
      const members: Array<[number, string]> = [];
      for (let i = 0; i < flat.length; i += 2) members.push([Number(flat[i + 1]), flat[i]!]);
      const candidates = keyPrefix === undefined ? members : members.filter(([, key]) => key.startsWith(keyPrefix));
      const metas = await this.#metas(candidates.map(([, key]) => key), now);
      for (let i = 0; i < candidates.length; i++) {
        const meta = metas[i];
        if (meta === undefined || (upstream !== undefined && meta.upstream !== upstream) || (prefix !== undefined && !meta.path.startsWith(prefix))) continue;
        // One match beyond the page: there is more, and it starts after the page's last entry.
        if (entries.length === limit) return { entries, next: listPosition.encode(last!) };
        entries.push(meta);
        last = candidates[i]!;
      }
      if (members.length < count) return { entries, next: null };
      rank += members.length;
      scanned += members.length;
      last = members[members.length - 1]!;
    }
    return { entries, next: listPosition.encode(last!) };
  }

  async describeEntry(key: string): Promise<EntryDescription | undefined> {
    const [head] = await this.#heads([key], META_PREFIX_BYTES);
    const meta = await this.#decodeHead(key, head!, this.#now());
    return meta === undefined ? undefined : describeOf(meta.fields, meta.bodyBytes);
  }

  /** Held: the envelope exists and its index score (staleUntil) is still ahead of our clock. */
  async hasEntries(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const now = this.#now();
    const replies = await this.#together([['zmscore', this.#indexKey, ...keys], ...keys.map((key): [string, string] => ['exists', this.entryKey(key)])]);
    const scores = replies[0] as Array<string | null>;
    return new Set(keys.filter((_, i) => replies[i + 1] === 1 && scores[i] !== null && Number(scores[i]) > now));
  }

  /** Rank of the first index member after (score, member) in index order, present or not. */
  async #rankAfter(score: number, member: string): Promise<number> {
    const [below, through] = (await this.#together([
      ['zcount', this.#indexKey, '-inf', `(${score}`],
      ['zcount', this.#indexKey, '-inf', score],
    ])) as [number, number];
    // Ranks [lo, hi) all have this score and are ordered by member (byte order; keys are ASCII).
    let lo = below;
    let hi = through;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const [at] = await this.#client.zrange(this.#indexKey, mid, mid);
      if (at === undefined) break;
      if (at <= member) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Metadata of each key's live entry (undefined where gone), from envelope heads only. */
  async #metas(keys: readonly string[], now: number): Promise<Array<EntryMeta | undefined>> {
    if (keys.length === 0) return [];
    const heads = await this.#heads(keys, META_PREFIX_BYTES);
    return Promise.all(
      keys.map(async (key, i) => {
        const meta = await this.#decodeHead(key, heads[i]!, now);
        return meta === undefined ? undefined : metaOf(meta.fields, meta.bodyBytes);
      }),
    );
  }

  /** Decodes an envelope head, reading a longer one when the first was cut before the body. */
  async #decodeHead(key: string, head: Buffer, now: number): Promise<ReturnType<typeof decodeEntryMeta>> {
    let meta = decodeEntryMeta(head);
    if (meta === undefined && head.length === META_PREFIX_BYTES) {
      const longer = (await this.#heads([key], META_PREFIX_RETRY_BYTES))[0]!;
      meta = decodeEntryMeta(longer);
      if (meta === undefined && longer.length === META_PREFIX_RETRY_BYTES) {
        // More than 64 KB before the body: the whole value, once (rare: enormous header sets).
        const whole = await this.#client.getBuffer(this.entryKey(key));
        meta = whole === null ? undefined : decodeEntryMeta(whole);
      }
    }
    if (meta === undefined || meta.fields.key !== key || meta.fields.staleUntil <= now) return undefined;
    return meta;
  }

  /** The first `bytes` of each key's envelope (empty for a missing key), in one round trip. */
  async #heads(keys: readonly string[], bytes: number): Promise<Buffer[]> {
    const client = this.#client;
    if (client instanceof Cluster) return Promise.all(keys.map((key) => client.getrangeBuffer(this.entryKey(key), 0, bytes - 1)));
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.getrangeBuffer(this.entryKey(key), 0, bytes - 1);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value as Buffer;
    });
  }

  async #prune(now: number): Promise<void> {
    await this.#client.zremrangebyscore(this.#indexKey, '-inf', now);
  }

  /**
   * Sends single-key commands together: one pipeline (one write) on a single node, concurrent
   * commands on a Cluster, whose pipelines must stay within one node's slots. Not atomic.
   */
  async #together(commands: Array<[string, ...Array<string | number | Buffer>]>): Promise<unknown[]> {
    const client = this.#client;
    if (client instanceof Cluster) return Promise.all(commands.map(([name, ...args]) => client.call(name, ...args)));
    const replies = (await client.pipeline(commands).exec()) ?? [];
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  /** UNLINK in batches on a single node; per key on a Cluster (the keys of one command must share a slot). */
  async #unlinkMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const client = this.#client;
    if (client instanceof Cluster) await Promise.all(keys.map((key) => client.unlink(key)));
    else await client.unlink(...keys);
  }
}
