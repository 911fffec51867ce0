import type { CacheEntry } from '../cache/entry.js';

/**
 * Names of the epochs an entry is subject to. Tags are case-insensitive (Salesforce object names
 * and Jira keys are): callers pass them through `epochTag`.
 */
export const ALL_EPOCH = 'all';
export const upstreamEpoch = (upstream: string): string => `upstream:${upstream}`;
export const prefixEpoch = (upstream: string, path: string): string => `path:${upstream}:${path}`;
export const epochTag = (tag: string): string => `tag:${tag.toLowerCase()}`;
/** The exact request path (any query): what a successful unsafe request invalidates (RFC 9111 §4.4). */
export const uriEpoch = (upstream: string, path: string): string => `uri:${upstream}:${path}`;

/**
 * Invalidation by generation: invalidating a tag, a path prefix, an upstream or everything
 * records the time it happened; an entry requested before the latest epoch of any name it is
 * subject to is no longer served. So invalidation costs one map write (and one row, one message)
 * whatever the cache holds, and readers reject older entries lazily; storage expires them later.
 *
 * An entry is subject to: its tags, its upstream, its exact path, every ancestor path of its path
 * (prefix invalidation at segment boundaries), and `all`. Its `storedAt` is the time its upstream request
 * was sent, so a fetch that started before an invalidation never survives it.
 */
export class EpochTable {
  readonly #epochs = new Map<string, number>();
  // An entry's epoch names (upstream, tags, exact path), built once per stored object rather
  // than on every hit: entries are immutable, and the memory tier serves the same object.
  readonly #names = new WeakMap<CacheEntry, readonly string[]>();
  #pathEpochs = 0;

  get size(): number {
    return this.#epochs.size;
  }

  /** Records epochs, keeping the latest time per name. */
  bump(names: readonly string[], at: number): void {
    for (const name of names) {
      const current = this.#epochs.get(name);
      if (current === undefined && name.startsWith('path:')) this.#pathEpochs += 1;
      if (current === undefined || current < at) this.#epochs.set(name, at);
    }
  }

  /** Whether nothing the entry is subject to was invalidated after its upstream request was sent. */
  isCurrent(entry: CacheEntry): boolean {
    if (this.#epochs.size === 0) return true;
    const since = entry.storedAt;
    if (this.#newer(ALL_EPOCH, since)) return false;
    let names = this.#names.get(entry);
    if (names === undefined) {
      names = [upstreamEpoch(entry.upstream), ...entry.tags.map(epochTag), uriEpoch(entry.upstream, pathOf(entry))];
      this.#names.set(entry, names);
    }
    for (const name of names) if (this.#newer(name, since)) return false;
    if (this.#pathEpochs > 0) {
      const path = pathOf(entry);
      if (this.#newer(prefixEpoch(entry.upstream, '/'), since)) return false;
      for (let slash = path.indexOf('/', 1); ; slash = path.indexOf('/', slash + 1)) {
        if (this.#newer(prefixEpoch(entry.upstream, slash === -1 ? path : path.slice(0, slash)), since)) return false;
        if (slash === -1) break;
      }
    }
    return true;
  }

  /** Forgets epochs older than `before`: no entry that old can still be stored. */
  prune(before: number): number {
    let removed = 0;
    for (const [name, at] of this.#epochs) {
      if (at >= before) continue;
      this.#epochs.delete(name);
      if (name.startsWith('path:')) this.#pathEpochs -= 1;
      removed += 1;
    }
    return removed;
  }

  #newer(name: string, since: number): boolean {
    const at = this.#epochs.get(name);
    return at !== undefined && at >= since;
  }
}

/** The entry's path without its query. */
function pathOf(entry: CacheEntry): string {
  const q = entry.path.indexOf('?');
  return q === -1 ? entry.path : entry.path.slice(0, q);
}
