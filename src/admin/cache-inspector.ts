import type { CacheEntry } from '../cache/entry.js';
import { TierUnavailable } from '../cache/guarded-tier.js';
import { InvalidListPosition, type EntryDescription, type EntryMeta, type ListableTier, type TierName } from '../cache/store.js';
import type { MemoryTier } from '../cache/tiers/memory.js';
import { SidecacheError } from '../errors.js';

/** A shared tier as the inspector uses it: listing, inspection and whole-entry reads for `?body=1`. */
export interface InspectableTier extends ListableTier {
  readonly name: TierName;
  readEntry(key: string): Promise<CacheEntry | undefined>;
}

/** The cache as the admin API sees it (CacheStorage satisfies it). */
export interface InspectedCache {
  readonly memory: MemoryTier | null;
  readonly redis: InspectableTier | null;
  readonly postgres: InspectableTier | null;
  readonly stack: { isCurrentEntry(entry: Omit<CacheEntry, 'body' | 'headers'>): boolean };
}

export type Presence = 'present' | 'absent' | 'unavailable';

/** A listing item: the entry's metadata, where it is held, and what a read would make of it. */
export interface EntryView {
  readonly key: string;
  readonly upstream: string;
  readonly path: string;
  readonly status: number;
  readonly scope: string;
  readonly tags: readonly string[];
  readonly storedAt: string;
  readonly expiresAt: string;
  readonly staleUntil: string;
  readonly ageSeconds: number;
  /** Seconds until expiresAt (0 once stale). */
  readonly ttlSeconds: number;
  /** Seconds until staleUntil, when the entry stops being servable at all. */
  readonly staleSeconds: number;
  readonly fresh: boolean;
  /** Invalidated (by tag, path, upstream or all) since it was stored: never served again. */
  readonly invalidated: boolean;
  readonly bodyBytes: number;
  readonly sizeBytes: number;
  readonly tiers: Partial<Record<TierName, Presence>>;
}

export interface EntryDetail extends EntryView {
  /** The tier the metadata was read from: the first in read order that holds the entry. */
  readonly source: TierName;
  readonly headerNames: readonly string[];
  readonly body?: { readonly encoding: 'utf8' | 'base64'; readonly data: string };
}

export interface ListRequest {
  readonly upstream?: string;
  readonly prefix?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface Listing {
  readonly source: TierName;
  readonly items: EntryView[];
  readonly nextCursor: string | null;
}

const CURSOR_EXPECTED = 'expected the nextCursor of a previous page';

/**
 * Listing and inspection over the tiers. The listing source is the most complete tier that
 * has an index: Postgres when enabled, else Redis, else memory (see each tier's listEntries
 * for the cost of a page). Presence in the other tiers costs one batched look-up per tier per
 * page. Entries invalidated by epoch are still shown, flagged `invalidated: true`: they take
 * space until they expire, and hiding them would make a key that is in Redis look absent.
 */
export class CacheInspector {
  readonly #cache: InspectedCache;
  readonly #now: () => number;

  constructor(cache: InspectedCache, now: () => number = Date.now) {
    this.#cache = cache;
    this.#now = now;
  }

  /** The tier listings come from. */
  get source(): TierName {
    return this.#cache.postgres !== null ? 'postgres' : this.#cache.redis !== null ? 'redis' : 'memory';
  }

  async list(request: ListRequest): Promise<Listing> {
    const source = this.source;
    const tier = this.#tier(source);
    if (tier === null) throw new SidecacheError('cache_unavailable', 'no cache tier is enabled');
    const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, source);
    let page;
    try {
      page = await tier.listEntries({
        limit: request.limit,
        ...(request.upstream === undefined ? {} : { upstream: request.upstream }),
        ...(request.prefix === undefined ? {} : { prefix: request.prefix }),
        ...(after === undefined ? {} : { after }),
      });
    } catch (err) {
      throw translate(err);
    }
    const keys = page.entries.map((entry) => entry.key);
    const presence = new Map<TierName, (key: string) => Presence>([[source, () => 'present']]);
    await Promise.all(
      this.#configured()
        .filter((name) => name !== source)
        .map(async (name) => {
          try {
            const held = await this.#tier(name)!.hasEntries(keys);
            presence.set(name, (key) => (held.has(key) ? 'present' : 'absent'));
          } catch {
            presence.set(name, () => 'unavailable');
          }
        }),
    );
    const now = this.#now();
    const items = page.entries.map((meta) => {
      const tiers: Partial<Record<TierName, Presence>> = {};
      for (const name of this.#configured()) tiers[name] = presence.get(name)!(meta.key);
      return this.#view(meta, tiers, now);
    });
    return { source, items, nextCursor: page.next === null ? null : `${source}.${page.next}` };
  }

  /** One entry as every configured tier holds it; undefined when none does. */
  async describe(key: string, options: { body: boolean }): Promise<EntryDetail | undefined> {
    const names = this.#configured();
    const found = await Promise.all(
      names.map(async (name): Promise<EntryDescription | undefined | 'unavailable'> => {
        try {
          return await this.#tier(name)!.describeEntry(key);
        } catch {
          return 'unavailable';
        }
      }),
    );
    const tiers: Partial<Record<TierName, Presence>> = {};
    let source: TierName | undefined;
    let meta: EntryDescription | undefined;
    names.forEach((name, i) => {
      const result = found[i];
      tiers[name] = result === 'unavailable' ? 'unavailable' : result === undefined ? 'absent' : 'present';
      if (meta === undefined && result !== undefined && result !== 'unavailable') {
        meta = result;
        source = name;
      }
    });
    if (meta === undefined || source === undefined) {
      if (Object.values(tiers).includes('unavailable')) {
        const down = names.filter((name) => tiers[name] === 'unavailable').join(', ');
        throw new SidecacheError('cache_unavailable', `no reachable tier holds this key, and ${down} could not be asked`);
      }
      return undefined;
    }
    const detail: EntryDetail = { ...this.#view(meta, tiers, this.#now()), source, headerNames: meta.headerNames };
    if (!options.body) return detail;
    const entry = await this.#read(source, key);
    // Gone between the two reads (expired or evicted): report what was seen, without a body.
    return entry === undefined ? detail : { ...detail, body: renderBody(entry) };
  }

  #view(meta: EntryMeta, tiers: Partial<Record<TierName, Presence>>, now: number): EntryView {
    return {
      key: meta.key,
      upstream: meta.upstream,
      path: meta.path,
      status: meta.status,
      scope: meta.scope,
      tags: meta.tags,
      storedAt: new Date(meta.storedAt).toISOString(),
      expiresAt: new Date(meta.expiresAt).toISOString(),
      staleUntil: new Date(meta.staleUntil).toISOString(),
      ageSeconds: Math.max(0, Math.floor((now - meta.storedAt) / 1000)),
      ttlSeconds: Math.max(0, Math.floor((meta.expiresAt - now) / 1000)),
      staleSeconds: Math.max(0, Math.floor((meta.staleUntil - now) / 1000)),
      fresh: now < meta.expiresAt,
      invalidated: !this.#cache.stack.isCurrentEntry(meta),
      bodyBytes: meta.bodyBytes,
      sizeBytes: meta.sizeBytes,
      tiers,
    };
  }

  async #read(name: TierName, key: string): Promise<CacheEntry | undefined> {
    if (name === 'memory') return this.#cache.memory!.inspect(key);
    try {
      return await (name === 'redis' ? this.#cache.redis : this.#cache.postgres)!.readEntry(key);
    } catch (err) {
      throw translate(err);
    }
  }

  #configured(): TierName[] {
    const names: TierName[] = [];
    if (this.#cache.memory !== null) names.push('memory');
    if (this.#cache.redis !== null) names.push('redis');
    if (this.#cache.postgres !== null) names.push('postgres');
    return names;
  }

  #tier(name: TierName): ListableTier | null {
    return name === 'memory' ? this.#cache.memory : name === 'redis' ? this.#cache.redis : this.#cache.postgres;
  }
}

/** `<source>.<tier position>`: a cursor only resumes a listing from the same source tier. */
function decodeCursor(cursor: string, source: TierName): string {
  const dot = cursor.indexOf('.');
  const from = cursor.slice(0, dot);
  if (dot < 1 || dot === cursor.length - 1) throw new SidecacheError('invalid_request', `cursor: ${CURSOR_EXPECTED}`);
  if (from !== source) {
    throw new SidecacheError('invalid_request', `cursor: ${CURSOR_EXPECTED} (it is from a ${from} listing; listings now come from ${source})`);
  }
  return cursor.slice(dot + 1);
}

function translate(err: unknown): unknown {
  if (err instanceof InvalidListPosition) return new SidecacheError('invalid_request', `cursor: ${CURSOR_EXPECTED}`);
  if (err instanceof TierUnavailable) return new SidecacheError('cache_unavailable', err.message, { cause: err });
  return err;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text when it is valid UTF-8 and not content-encoded; base64 otherwise. */
function renderBody(entry: CacheEntry): { encoding: 'utf8' | 'base64'; data: string } {
  const encoding = entry.headers['content-encoding'];
  const encoded = encoding !== undefined && String(encoding).trim().toLowerCase() !== 'identity';
  if (!encoded) {
    try {
      return { encoding: 'utf8', data: utf8.decode(entry.body) };
    } catch {
      // not UTF-8: fall through
    }
  }
  return { encoding: 'base64', data: entry.body.toString('base64') };
}
