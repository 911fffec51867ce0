import { adminJson, ApiError, query } from '../api.js';
import type { CacheEntryDetail, CacheListing } from '../types.js';

/** What an invalidation form asks for, as `POST /admin/invalidate` takes it. */
export type Target =
  | { kind: 'key'; key: string }
  | { kind: 'prefix'; upstream: string; prefix: string }
  | { kind: 'tags'; tags: string[]; upstream?: string }
  | { kind: 'upstream'; upstream: string }
  | { kind: 'all' };

export function requestBody(target: Target): Record<string, unknown> {
  switch (target.kind) {
    case 'key':
      return { key: target.key };
    case 'prefix':
      return { upstream: target.upstream, prefix: target.prefix };
    case 'tags':
      return target.upstream === undefined ? { tags: target.tags } : { upstream: target.upstream, tags: target.tags };
    case 'upstream':
      return { upstream: target.upstream };
    case 'all':
      return { all: true };
  }
}

/** The target in words, for the confirmation. */
export function describeTarget(target: Target): string {
  switch (target.kind) {
    case 'key':
      return `the entry with key ${target.key}`;
    case 'prefix':
      return `every entry of upstream "${target.upstream}" at or below ${target.prefix}`;
    case 'tags':
      return `every entry tagged ${target.tags.map((t) => `"${t}"`).join(' or ')}${target.upstream === undefined ? '' : ` in upstream "${target.upstream}"`}`;
    case 'upstream':
      return `every entry of upstream "${target.upstream}"`;
    case 'all':
      return 'EVERY cached entry of every upstream';
  }
}

export interface Preview {
  /** Entries found on the first page of the listing (null: no cheap way to count). */
  found: number | null;
  /** More than one page matched. */
  more: boolean;
  examples: string[];
  note: string;
}

const PAGE = 50;

/**
 * A cheap look at what the target holds, from the existing listing (one page at most): the
 * entry for a key, the first page under a prefix or upstream. Tags and all have no index to ask.
 */
export async function preview(target: Target): Promise<Preview> {
  if (target.kind === 'key') {
    try {
      const entry = await adminJson<CacheEntryDetail>(`/admin/cache/entry${query({ key: target.key })}`);
      return { found: 1, more: false, examples: [`${entry.upstream} ${entry.path}`], note: 'cached here' };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return { found: 0, more: false, examples: [], note: 'not cached on this instance (other instances may hold it)' };
      throw err;
    }
  }
  if (target.kind === 'prefix' || target.kind === 'upstream') {
    const prefix = target.kind === 'prefix' ? target.prefix.replace(/\/+$/, '') || '/' : undefined;
    const page = await adminJson<CacheListing>(`/admin/cache/entries${query({ upstream: target.upstream, prefix, limit: PAGE })}`);
    // The listing matches a plain string prefix; invalidation stops at segment boundaries.
    const items = prefix === undefined || prefix === '/' ? page.items : page.items.filter((item) => item.path === prefix || item.path.startsWith(`${prefix}/`) || item.path.startsWith(`${prefix}?`));
    return {
      found: items.filter((item) => !item.invalidated).length,
      more: page.nextCursor !== null,
      examples: items.slice(0, 5).map((item) => item.path),
      note: `from the ${page.source} tier`,
    };
  }
  return { found: null, more: false, examples: [], note: target.kind === 'tags' ? 'sidecache keeps no tag index to count from in advance: every entry carrying one of these tags stops being served' : 'everything cached, on every instance, stops being served' };
}
