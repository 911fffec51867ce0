/**
 * How a shared tier turns entries into stored bytes and back: the plain envelope (codec.ts), or,
 * with an encryption key, that envelope sealed (seal.ts). Entries are read only in the mode they
 * were written: with a key, a plain value is a miss (it is unauthenticated, so whoever can write
 * Redis or the table could plant it); without one, a sealed value is a miss.
 */
import type { TierName } from './store.js';
import { decodeEntry, decodeEntryMeta, encodeEntry, envelopeEntryBytes } from './codec.js';
import type { CacheEntry } from './entry.js';
import { isSealed, type KeyRing, type OpenFailure } from './seal.js';

/** An entry read back, and whether it was sealed under an older key (so should be re-sealed). */
export interface DecodedEntry {
  readonly entry: CacheEntry;
  readonly oldKey: boolean;
}

/** Reports an envelope that did not open: counted per tier and reason, logged once per tier and reason. */
export type SealFailureSink = (tier: TierName, reason: OpenFailure | 'sealed-without-key') => void;

export class EntryCodec {
  readonly #ring: KeyRing | null;
  readonly #onFailure: SealFailureSink;
  readonly #tier: TierName;

  constructor(tier: TierName, ring: KeyRing | null, onFailure: SealFailureSink = () => undefined) {
    this.#tier = tier;
    this.#ring = ring;
    this.#onFailure = onFailure;
  }

  /** The key ring when entries are sealed; null when they are stored plain. */
  get ring(): KeyRing | null {
    return this.#ring;
  }

  async encode(entry: CacheEntry, compressAboveBytes: number): Promise<Buffer> {
    const plain = await encodeEntry(entry, { compressAboveBytes });
    return this.#ring === null ? plain : this.#ring.seal(plain, entry.key);
  }

  /** The entry stored under `key`, or undefined (a miss) for anything that does not open or decode. */
  async decode(stored: Buffer, key: string): Promise<DecodedEntry | undefined> {
    const opened = this.#open(stored, key);
    if (opened === undefined) return undefined;
    const entry = await decodeEntry(opened.plain);
    return entry === undefined || entry.key !== key ? undefined : { entry, oldKey: opened.oldKey };
  }

  /** An entry's fields without its body (listings): a plain envelope's head may be a prefix; a sealed one must be whole. */
  decodeMeta(stored: Buffer, key: string): ReturnType<typeof decodeEntryMeta> {
    const opened = this.#open(stored, key);
    return opened === undefined ? undefined : decodeEntryMeta(opened.plain);
  }

  /** The logical (uncompressed) size of a stored entry, for stats; undefined when it does not open (not counted: a sample is no look-up). */
  entryBytes(stored: Buffer, key: string): number | undefined {
    const opened = this.#open(stored, key, false);
    return opened === undefined ? undefined : envelopeEntryBytes(opened.plain);
  }

  #open(stored: Buffer, key: string, report = true): { plain: Buffer; oldKey: boolean } | undefined {
    const ring = this.#ring;
    if (ring === null) {
      if (isSealed(stored)) {
        if (report) this.#onFailure(this.#tier, 'sealed-without-key');
        return undefined;
      }
      return { plain: stored, oldKey: false };
    }
    if (!isSealed(stored)) return undefined;
    const opened = ring.open(stored, key);
    if (!opened.ok) {
      if (report) this.#onFailure(this.#tier, opened.reason);
      return undefined;
    }
    return { plain: opened.plain, oldKey: !opened.current };
  }
}

/** Counts of envelopes that did not open, per tier and reason, and the log line said once for each. */
export class SealFailures {
  readonly #counts = new Map<string, number>();
  readonly #log: (fields: Record<string, string>, message: string) => void;

  constructor(log: (fields: Record<string, string>, message: string) => void) {
    this.#log = log;
  }

  readonly sink: SealFailureSink = (tier, reason) => {
    const name = `${tier}\0${reason}`;
    const seen = this.#counts.get(name) ?? 0;
    this.#counts.set(name, seen + 1);
    if (seen === 0) this.#log({ tier, reason }, 'a cached entry did not open and was treated as a miss (counted in sidecache_cache_unopenable_total; logged once per tier and reason)');
  };

  /** [tier, reason, count] for the metrics. */
  counts(): Array<[TierName, string, number]> {
    return [...this.#counts].map(([name, count]) => {
      const [tier, reason] = name.split('\0') as [TierName, string];
      return [tier, reason, count];
    });
  }
}
