/**
 * CacheEntry <-> the binary envelope every shared tier stores (layout: envelope.ts). A large body
 * is brotli-compressed when that pays; decoding never throws.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants } from 'node:zlib';
import { ENTRY_FORMAT_VERSION, type CacheEntry, type StoredHeaders } from './entry.js';
import { ENTRY_BYTES_OFFSET, FIXED_HEADER_BYTES, FLAG_BROTLI, MAX_U32, SCOPES } from './envelope.js';
import { parseEnvelope } from './envelope-reader.js';
import { ownedBuffer, ownedBytes } from './owned-bytes.js';
import { varintSize, writeVarint } from './varint.js';

export { ENTRY_BYTES_OFFSET } from './envelope.js';

// Brotli at quality 4 compresses JSON ~10% smaller than gzip -6 at about the same speed.
const BROTLI_QUALITY = 4;

const compressAsync = promisify(brotliCompress);
const decompressAsync = promisify(brotliDecompress);

export interface EncodeOptions {
  /** Bodies larger than this many bytes are compressed, if that makes them smaller. */
  readonly compressAboveBytes: number;
}

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
      body = ownedBuffer(await decompressAsync(buf.subarray(bodyOffset), { maxOutputLength: Math.max(1, rawBodyLength) }));
      if (body.length !== rawBodyLength) return undefined;
    } else {
      if (buf.length - bodyOffset !== rawBodyLength) return undefined;
      // A copy, so the entry does not pin (or alias) the caller's whole buffer.
      body = ownedBytes([buf.subarray(bodyOffset)]);
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

/** A body the upstream already compressed (gzip, br, …) would only waste CPU being compressed again. */
function isContentEncoded(headers: StoredHeaders): boolean {
  const value = headers['content-encoding'];
  const encoding = (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().toLowerCase();
  return encoding !== '' && encoding !== 'identity';
}
