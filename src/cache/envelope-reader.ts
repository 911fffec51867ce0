/** Reads an envelope (layout: envelope.ts) up to its body, bounds-checked. */
import { ENTRY_FORMAT_VERSION, type CacheEntry, type StoredHeaders } from './entry.js';
import { ENTRY_BYTES_OFFSET, FIXED_HEADER_BYTES, FLAG_BROTLI, KNOWN_FLAGS, MAX_U32, SCOPES } from './envelope.js';

/** Thrown for a malformed buffer; `parseEnvelope`'s callers catch it (it never leaves codec.ts). */
class MalformedEnvelope extends Error {}

/** An envelope's fields, where its body starts, and how the body is stored. */
interface ParsedEnvelope {
  fields: Omit<CacheEntry, 'body'>;
  bodyOffset: number;
  compressed: boolean;
  rawBodyLength: number;
}

/**
 * Reads everything before the body. Undefined for another format version or unknown flags;
 * throws `MalformedEnvelope` (or a RangeError) for a malformed or truncated buffer.
 */
export function parseEnvelope(buf: Buffer): ParsedEnvelope | undefined {
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
