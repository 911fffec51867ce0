import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants } from 'node:zlib';
import type { CacheScope } from '../config/types.js';
import { ENTRY_FORMAT_VERSION, type CacheEntry, type StoredHeaders } from './entry.js';

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

const FLAG_BROTLI = 0x01;
const KNOWN_FLAGS = FLAG_BROTLI;
const FIXED_HEADER_BYTES = 33;
/** Offset of the u32 `entryBytes` field (see the layout above). */
export const ENTRY_BYTES_OFFSET = 4;
const MAX_U32 = 0xffff_ffff;

const SCOPES: readonly CacheScope[] = ['authorization', 'session', 'shared'];
// Brotli at quality 4 compresses JSON ~10% smaller than gzip -6 at about the same speed.
const BROTLI_QUALITY = 4;

const compressAsync = promisify(brotliCompress);
const decompressAsync = promisify(brotliDecompress);

export interface EncodeOptions {
  /** Bodies larger than this many bytes are compressed, if that makes them smaller. */
  readonly compressAboveBytes: number;
}

/** Thrown internally for a malformed buffer; never escapes `decodeEntry`. */
class MalformedEnvelope extends Error {}

/** Serialises an entry into the binary envelope, compressing a large body when that pays. */
export async function encodeEntry(entry: CacheEntry, options: EncodeOptions): Promise<Buffer> {
  const scope = SCOPES.indexOf(entry.scope);
  if (scope < 0) throw new TypeError(`encodeEntry: unknown scope ${JSON.stringify(entry.scope)}`);
  if (!Number.isInteger(entry.status) || entry.status < 0 || entry.status > 0xffff) {
    throw new TypeError(`encodeEntry: status must be an integer 0-65535, got ${entry.status}`);
  }

  const strings: Buffer[] = [];
  const pushString = (s: string): void => {
    strings.push(Buffer.from(s, 'utf8'));
  };
  const counts: number[] = [];
  pushString(entry.key);
  pushString(entry.upstream);
  pushString(entry.path);
  counts.push(entry.tags.length);
  for (const tag of entry.tags) pushString(tag);
  const names = Object.keys(entry.headers);
  counts.push(names.length);
  for (const name of names) {
    pushString(name);
    const value = entry.headers[name]!;
    if (Array.isArray(value)) {
      counts.push(value.length + 1);
      for (const v of value) pushString(v);
    } else {
      counts.push(0);
      pushString(value as string);
    }
  }

  let metaBytes = FIXED_HEADER_BYTES;
  for (const s of strings) metaBytes += varintSize(s.length) + s.length;
  for (const c of counts) metaBytes += varintSize(c);
  const entryBytes = metaBytes + entry.body.length;
  if (entryBytes > MAX_U32) throw new RangeError(`encodeEntry: entry of ${entryBytes} bytes is too large`);

  let body = entry.body;
  let flags = 0;
  if (entry.body.length > options.compressAboveBytes && !isContentEncoded(entry.headers)) {
    const compressed = await compressAsync(entry.body, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: entry.body.length,
      },
    });
    if (compressed.length < entry.body.length) {
      body = compressed;
      flags |= FLAG_BROTLI;
    }
  }

  const out = Buffer.allocUnsafe(metaBytes + body.length);
  out.writeUInt8(ENTRY_FORMAT_VERSION, 0);
  out.writeUInt8(flags, 1);
  out.writeUInt16BE(entry.status, 2);
  out.writeUInt32BE(entryBytes, ENTRY_BYTES_OFFSET);
  out.writeDoubleBE(entry.storedAt, 8);
  out.writeDoubleBE(entry.expiresAt, 16);
  out.writeDoubleBE(entry.staleUntil, 24);
  out.writeUInt8(scope, 32);

  // Strings and counts interleave in the order they were collected above.
  let offset = FIXED_HEADER_BYTES;
  let si = 0;
  let ci = 0;
  const writeString = (): void => {
    const s = strings[si++]!;
    offset = writeVarint(out, offset, s.length);
    offset += s.copy(out, offset);
  };
  const writeCount = (): number => {
    const c = counts[ci++]!;
    offset = writeVarint(out, offset, c);
    return c;
  };
  writeString();
  writeString();
  writeString();
  const tagCount = writeCount();
  for (let i = 0; i < tagCount; i++) writeString();
  const headerCount = writeCount();
  for (let h = 0; h < headerCount; h++) {
    writeString();
    const n = writeCount();
    const values = n === 0 ? 1 : n - 1;
    for (let i = 0; i < values; i++) writeString();
  }
  body.copy(out, offset);
  return out;
}

/**
 * Parses an envelope. Resolves undefined for another format version, unknown flags or any
 * malformed or truncated buffer; it never throws.
 */
export async function decodeEntry(buf: Buffer): Promise<CacheEntry | undefined> {
  try {
    const parsed = parseEnvelope(buf);
    if (parsed === undefined) return undefined;
    const { fields, bodyOffset, compressed, rawBodyLength } = parsed;
    let body: Buffer;
    if (compressed) {
      // Bounding the output also guards against a corrupt or hostile "zip bomb" value.
      body = await decompressAsync(buf.subarray(bodyOffset), { maxOutputLength: Math.max(1, rawBodyLength) });
      if (body.length !== rawBodyLength) return undefined;
    } else {
      if (buf.length - bodyOffset !== rawBodyLength) return undefined;
      // A copy, so the entry does not pin (or alias) the caller's whole buffer.
      body = Buffer.from(buf.subarray(bodyOffset));
    }
    return { ...fields, body };
  } catch {
    return undefined;
  }
}

/** Reads the logical (uncompressed) entry size from an envelope's first 8 bytes; undefined if not ours. */
export function envelopeEntryBytes(prefix: Buffer): number | undefined {
  if (prefix.length < ENTRY_BYTES_OFFSET + 4 || prefix[0] !== ENTRY_FORMAT_VERSION) return undefined;
  return prefix.readUInt32BE(ENTRY_BYTES_OFFSET);
}

/**
 * An envelope's fields and body length without touching the body: `buf` may be just a prefix
 * (Redis GETRANGE) as long as it covers everything before the body. Undefined when the buffer is
 * not ours, malformed, or cut before the body starts (read a longer prefix then).
 */
export function decodeEntryMeta(buf: Buffer): { fields: Omit<CacheEntry, 'body'>; bodyBytes: number } | undefined {
  try {
    const parsed = parseEnvelope(buf);
    return parsed === undefined ? undefined : { fields: parsed.fields, bodyBytes: parsed.rawBodyLength };
  } catch {
    return undefined;
  }
}

interface ParsedEnvelope {
  fields: Omit<CacheEntry, 'body'>;
  bodyOffset: number;
  compressed: boolean;
  rawBodyLength: number;
}

function parseEnvelope(buf: Buffer): ParsedEnvelope | undefined {
  if (!Buffer.isBuffer(buf) || buf.length < FIXED_HEADER_BYTES) return undefined;
  if (buf.readUInt8(0) !== ENTRY_FORMAT_VERSION) return undefined;
  const flags = buf.readUInt8(1);
  if ((flags & ~KNOWN_FLAGS) !== 0) return undefined;
  const status = buf.readUInt16BE(2);
  const entryBytes = buf.readUInt32BE(ENTRY_BYTES_OFFSET);
  const storedAt = buf.readDoubleBE(8);
  const expiresAt = buf.readDoubleBE(16);
  const staleUntil = buf.readDoubleBE(24);
  const scope = SCOPES[buf.readUInt8(32)];
  if (scope === undefined || Number.isNaN(storedAt) || Number.isNaN(expiresAt) || Number.isNaN(staleUntil)) {
    return undefined;
  }

  const reader = new Reader(buf, FIXED_HEADER_BYTES);
  const key = reader.string();
  const upstream = reader.string();
  const path = reader.string();
  const tags: string[] = [];
  for (let n = reader.count(), i = 0; i < n; i++) tags.push(reader.string());
  const headers: StoredHeaders = {};
  for (let n = reader.count(), h = 0; h < n; h++) {
    const name = reader.string();
    const kind = reader.count();
    let value: string | string[];
    if (kind === 0) {
      value = reader.string();
    } else {
      value = [];
      for (let i = 0; i < kind - 1; i++) value.push(reader.string());
    }
    // defineProperty, so a header literally named "__proto__" is data, not a prototype change.
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  }
  const bodyOffset = reader.offset;
  const rawBodyLength = entryBytes - bodyOffset;
  if (rawBodyLength < 0) return undefined;
  return {
    fields: { key, upstream, path, status, headers, storedAt, expiresAt, staleUntil, tags, scope },
    bodyOffset,
    compressed: (flags & FLAG_BROTLI) !== 0,
    rawBodyLength,
  };
}

/** Bounds-checked sequential reader over the variable part of an envelope. */
class Reader {
  readonly #buf: Buffer;
  offset: number;

  constructor(buf: Buffer, offset: number) {
    this.#buf = buf;
    this.offset = offset;
  }

  /** A varint that counts items; each item takes at least one byte, so a count cannot exceed what is left. */
  count(): number {
    const n = this.varint();
    if (n > this.#buf.length - this.offset) throw new MalformedEnvelope('count exceeds buffer');
    return n;
  }

  string(): string {
    const length = this.varint();
    const end = this.offset + length;
    if (end > this.#buf.length) throw new MalformedEnvelope('string exceeds buffer');
    const s = this.#buf.toString('utf8', this.offset, end);
    this.offset = end;
    return s;
  }

  /** Unsigned LEB128, at most 5 bytes (32 bits). */
  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.#buf.length) throw new MalformedEnvelope('truncated varint');
      const byte = this.#buf[this.offset++]!;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (result > MAX_U32) throw new MalformedEnvelope('varint too large');
        return result;
      }
      multiplier *= 128;
    }
    throw new MalformedEnvelope('varint too long');
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 128) {
    buf[offset++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** A body the upstream already compressed (gzip, br, …) would only waste CPU being compressed again. */
function isContentEncoded(headers: StoredHeaders): boolean {
  const value = headers['content-encoding'];
  const encoding = (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().toLowerCase();
  return encoding !== '' && encoding !== 'identity';
}
