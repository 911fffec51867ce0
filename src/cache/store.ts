import { entrySize, type CacheEntry } from './entry.js';

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

// ---- listing and inspection (the admin API; never on the request path)

/** One entry without its body: what listings and inspection show. */
export interface EntryMeta extends Omit<CacheEntry, 'body' | 'headers'> {
  /** Length of the stored body (uncompressed). */
  readonly bodyBytes: number;
  /** The entry's footprint as the byte-bounded tiers count it (`entrySize`). */
  readonly sizeBytes: number;
}

/** EntryMeta plus the stored response header names (never their values). */
export interface EntryDescription extends EntryMeta {
  readonly headerNames: readonly string[];
}

export interface ListOptions {
  /** Only entries of this upstream. */
  readonly upstream?: string;
  /** Only entries whose `path` starts with this (with `upstream`). */
  readonly prefix?: string;
  /** Resume after this position: the `next` of a previous page of the same tier. */
  readonly after?: string;
  /** At most this many entries. */
  readonly limit: number;
}

export interface ListPage {
  readonly entries: EntryMeta[];
  /**
   * Where the next page starts; null when the walk is complete. A page may hold fewer than
   * `limit` entries (even none) and still have a `next`: tiers bound the work per page.
   */
  readonly next: string | null;
}

/** A tier that can list and inspect its entries without reading their bodies. */
export interface ListableTier {
  /** Live entries (before staleUntil) matching the options, in the tier's own stable order. */
  listEntries(options: ListOptions): Promise<ListPage>;
  /** One live entry's metadata, without its body; undefined when absent. */
  describeEntry(key: string): Promise<EntryDescription | undefined>;
  /** Which of `keys` this tier holds live. */
  hasEntries(keys: readonly string[]): Promise<Set<string>>;
}

/** A `ListOptions.after` the tier cannot have produced. */
export class InvalidListPosition extends Error {
  override readonly name = 'InvalidListPosition';
}

/** A listing position: base64url JSON of a tier's own tuple, checked against `shape` when read back. */
export const listPosition = {
  encode(tuple: readonly (string | number)[]): string {
    return Buffer.from(JSON.stringify(tuple)).toString('base64url');
  },
  decode(position: string, shape: readonly ('string' | 'number')[]): (string | number)[] {
    let tuple: unknown;
    try {
      tuple = JSON.parse(Buffer.from(position, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidListPosition('not a listing position');
    }
    if (!Array.isArray(tuple) || tuple.length !== shape.length || tuple.some((v, i) => typeof v !== shape[i] || (typeof v === 'number' && !Number.isFinite(v)))) {
      throw new InvalidListPosition('not a listing position of this tier');
    }
    return tuple as (string | number)[];
  },
};

/** The metadata of a whole entry (the memory tier, or a decoded one). */
export function entryMeta(entry: CacheEntry): EntryMeta {
  const { body, headers: _headers, ...fields } = entry;
  return { ...fields, bodyBytes: body.length, sizeBytes: entrySize(entry) };
}

/** EntryMeta from an entry's fields and its body length, for tiers that never read the body. */
export function metaOf(fields: Omit<CacheEntry, 'body'>, bodyBytes: number): EntryMeta {
  const { headers: _headers, ...rest } = fields;
  return { ...rest, bodyBytes, sizeBytes: entrySize({ ...fields, body: EMPTY }) + bodyBytes };
}

/** EntryDescription from an entry's fields and its body length. */
export function describeOf(fields: Omit<CacheEntry, 'body'>, bodyBytes: number): EntryDescription {
  return { ...metaOf(fields, bodyBytes), headerNames: Object.keys(fields.headers) };
}

const EMPTY = Buffer.alloc(0);
