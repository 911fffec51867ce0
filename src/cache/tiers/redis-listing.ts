import type { decodeEntryMeta } from '../codec.js';
import type { EntryCodec } from '../sealed-codec.js';
import { describeOf, listPosition, metaOf, type EntryDescription, type EntryMeta, type ListOptions, type ListPage } from '../store.js';
import type { RedisKeys } from './redis-keys.js';

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
 * The Redis tier's admin listing and inspection, from envelope heads: never a body. Sealed
 * envelopes cannot be read in part: each is fetched whole and opened (bounded by the page), and
 * one that does not open is left out, as a miss would be.
 */
export class RedisListing {
  readonly #keys: RedisKeys;
  readonly #codec: EntryCodec;
  readonly #now: () => number;
  readonly #listScanBudget: number;

  constructor(keys: RedisKeys, codec: EntryCodec, now: () => number, listScanBudget = LIST_SCAN_BUDGET) {
    this.#keys = keys;
    this.#codec = codec;
    this.#now = now;
    this.#listScanBudget = listScanBudget;
  }

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
    let rank = after !== undefined && after[0] > now ? await this.#rankAfter(after[0], after[1]) : await this.#keys.client.zcount(this.#keys.indexKey, '-inf', now);
    const keyPrefix = upstream === undefined ? undefined : `${upstream}:`;
    const entries: EntryMeta[] = [];
    let last: [number, string] | undefined;
    // The first batch is the page (and one more); when filters thin it out, batches double.
    let batch = Math.min(limit + 1, LIST_BATCH);
    for (let scanned = 0; scanned < this.#listScanBudget; batch = Math.min(batch * 2, LIST_BATCH)) {
      const count = Math.min(batch, this.#listScanBudget - scanned);
      const flat = await this.#keys.client.zrange(this.#keys.indexKey, rank, rank + count - 1, 'WITHSCORES');
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
    const [head] = await this.#keys.heads([key], this.#headBytes);
    const meta = await this.#decodeHead(key, head!, this.#now());
    return meta === undefined ? undefined : describeOf(meta.fields, meta.bodyBytes);
  }

  /** Held: the envelope exists and its index score (staleUntil) is still ahead of our clock. */
  async hasEntries(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const now = this.#now();
    const replies = await this.#keys.together([['zmscore', this.#keys.indexKey, ...keys], ...keys.map((key): [string, string] => ['exists', this.#keys.entryKey(key)])]);
    const scores = replies[0] as Array<string | null>;
    return new Set(keys.filter((_, i) => replies[i + 1] === 1 && scores[i] !== null && Number(scores[i]) > now));
  }

  /** Rank of the first index member after (score, member) in index order, present or not. */
  async #rankAfter(score: number, member: string): Promise<number> {
    const [below, through] = (await this.#keys.together([
      ['zcount', this.#keys.indexKey, '-inf', `(${score}`],
      ['zcount', this.#keys.indexKey, '-inf', score],
    ])) as [number, number];
    // Ranks [lo, hi) all have this score and are ordered by member (byte order; keys are ASCII).
    let lo = below;
    let hi = through;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const [at] = await this.#keys.client.zrange(this.#keys.indexKey, mid, mid);
      if (at === undefined) break;
      if (at <= member) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Metadata of each key's live entry (undefined where gone), from envelope heads only. */
  async #metas(keys: readonly string[], now: number): Promise<Array<EntryMeta | undefined>> {
    if (keys.length === 0) return [];
    const heads = await this.#keys.heads(keys, this.#headBytes);
    return Promise.all(
      keys.map(async (key, i) => {
        const meta = await this.#decodeHead(key, heads[i]!, now);
        return meta === undefined ? undefined : metaOf(meta.fields, meta.bodyBytes);
      }),
    );
  }

  /** Bytes read per envelope: a head of a plain one; a sealed one whole (GETRANGE to the end). */
  get #headBytes(): number {
    return this.#codec.ring === null ? META_PREFIX_BYTES : 0;
  }

  /** Decodes an envelope head, reading a longer one when the first was cut before the body. */
  async #decodeHead(key: string, head: Buffer, now: number): Promise<ReturnType<typeof decodeEntryMeta>> {
    let meta = this.#codec.decodeMeta(head, key);
    if (meta === undefined && head.length === META_PREFIX_BYTES && this.#codec.ring === null) {
      const longer = (await this.#keys.heads([key], META_PREFIX_RETRY_BYTES))[0]!;
      meta = this.#codec.decodeMeta(longer, key);
      if (meta === undefined && longer.length === META_PREFIX_RETRY_BYTES) {
        // More than 64 KB before the body: the whole value, once (rare: enormous header sets).
        const whole = await this.#keys.client.getBuffer(this.#keys.entryKey(key));
        meta = whole === null ? undefined : this.#codec.decodeMeta(whole, key);
      }
    }
    if (meta === undefined || meta.fields.key !== key || meta.fields.staleUntil <= now) return undefined;
    return meta;
  }
}
