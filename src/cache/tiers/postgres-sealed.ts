// How sealed entries sit in api_cache rows (migrations/0010_api_cache_sealed.sql): which columns stay readable, which hold keyed hashes.
import { ENTRY_FORMAT_VERSION, type CacheEntry, type StoredHeaders } from '../entry.js';
import type { EntryCodec } from '../sealed-codec.js';
import { pathPrefixes, tagValue } from '../sealed-index.js';

/** The `format` of a sealed row: never equal to a plain entry format, so each mode reads only its own rows. */
export const SEALED_ROW_FORMAT = 256 + ENTRY_FORMAT_VERSION;

/** The content columns of a row: as they are (plain), or hashes and an empty header set (sealed). */
export interface ContentColumns {
  readonly format: number;
  readonly path: string;
  readonly headers: StoredHeaders;
  readonly tags: string[];
  readonly pathPrefixes: string[];
}

export function contentColumns(codec: EntryCodec, entry: CacheEntry): ContentColumns {
  const ring = codec.ring;
  if (ring === null) return { format: ENTRY_FORMAT_VERSION, path: entry.path, headers: entry.headers, tags: [...entry.tags], pathPrefixes: [] };
  return {
    format: SEALED_ROW_FORMAT,
    path: ring.indexHash(`path\0${entry.path}`),
    headers: {},
    tags: entry.tags.map((tag) => ring.indexHash(tagValue(tag))),
    pathPrefixes: pathPrefixes(entry.path).map((value) => ring.indexHash(value)),
  };
}

/** The format of the rows a tier with this codec reads and writes. */
export function rowFormat(codec: EntryCodec): number {
  return codec.ring === null ? ENTRY_FORMAT_VERSION : SEALED_ROW_FORMAT;
}

/** Enough of a sealed body to tell this write from any other (it includes the random nonce). */
export const SEALED_HEAD_BYTES = 64;
