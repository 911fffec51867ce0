import type { CacheScope } from '../config/types.js';

/*
 * The binary envelope every shared tier stores a CacheEntry as. All integers are big-endian.
 *
 *   offset  size  field
 *   0       1     format (ENTRY_FORMAT_VERSION)
 *   1       1     flags: bit 0 = body is brotli-compressed; other bits must be 0
 *   2       2     status (u16)
 *   4       4     entryBytes (u32): the length of this envelope with the body stored raw
 *   8       8     storedAt (f64, epoch ms)
 *   16      8     expiresAt (f64)
 *   24      8     staleUntil (f64)
 *   32      1     scope (0 authorization, 1 session, 2 shared)
 *   33      …     key, upstream, path: varint byte length + UTF-8
 *                 tags: varint count, then each as a string
 *                 headers: varint count, then per header: name, varint n, values
 *                   (n = 0: one string value; n = k + 1: an array of k strings)
 *                 body: the rest of the buffer (raw, or compressed when flag bit 0 is set)
 *
 * `entryBytes` sits at a fixed offset so a store can read an entry's logical size with a
 * ranged read (Redis GETRANGE) without fetching or decompressing the body.
 */

export const FLAG_BROTLI = 0x01;
export const KNOWN_FLAGS = FLAG_BROTLI;
export const FIXED_HEADER_BYTES = 33;
/** Offset of the u32 `entryBytes` field (see the layout above). */
export const ENTRY_BYTES_OFFSET = 4;
export const MAX_U32 = 0xffff_ffff;

export const SCOPES: readonly CacheScope[] = ['authorization', 'session', 'shared'];
