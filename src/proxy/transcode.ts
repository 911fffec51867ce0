import type { Transform } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { LRUCache } from 'lru-cache';
import type { ProducedCoding } from '../policy/content-coding.js';

/**
 * Brotli quality for bodies the proxy encodes: 4 compresses JSON about as well as gzip -6 at a
 * similar speed; the default (11) is tens of times slower, too slow to run on a response path.
 */
export const BROTLI_QUALITY = 4;

/**
 * No decoded body may exceed this: a small compressed body can expand a thousandfold (a
 * "zip bomb"), and the stored body is bounded only in its compressed size.
 */
export const MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * Bytes the variant memo holds across all entries, counting each stored body it keeps a hold on
 * as well as its variants; least recently used go first.
 */
const MEMO_MAX_BYTES = 64 * 1024 * 1024;

/** Stored bodies the memo holds variants for, whatever their size. */
const MEMO_MAX_BODIES = 10_000;

/** Thrown when a body cannot be decoded from its codings: corrupt, unknown coding, or too large. */
export class UndecodableBodyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UndecodableBodyError';
  }
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliDecompress = promisify(zlib.brotliDecompress);
const gzip = promisify(zlib.gzip);
const brotliCompress = promisify(zlib.brotliCompress);

/** The recoded variants of one stored body, with their size for the memo's byte budget. */
interface Variants {
  readonly byCoding: Map<ProducedCoding, Promise<Buffer>>;
  bytes: number;
}

/**
 * Keyed by the stored body itself: every entry object holding that body (a revalidated entry
 * keeps it; the response that filled the entry is the same Buffer) shares its variants.
 */
const memo = new LRUCache<Buffer, Variants>({
  max: MEMO_MAX_BODIES,
  maxSize: MEMO_MAX_BYTES,
  sizeCalculation: (variants, body) => Math.max(1, body.length + variants.bytes),
});

/**
 * The body re-coded for one client, from the codings it is stored with to `to`. Memoised per
 * stored body and produced coding, in flight included, so concurrent and later hits share one
 * zlib run (failures too: a corrupt body is not decoded again on every hit). The work runs on
 * zlib's thread pool, off the event loop. Rejects with `UndecodableBodyError`.
 */
export function transcoded(body: Buffer, codings: readonly string[], to: ProducedCoding): Promise<Buffer> {
  let variants = memo.get(body);
  if (variants === undefined) {
    variants = { byCoding: new Map(), bytes: 0 };
    memo.set(body, variants);
  }
  let result = variants.byCoding.get(to);
  if (result === undefined) {
    result = decode(body, codings).then((plain) => encode(plain, to));
    variants.byCoding.set(to, result);
    const owner = variants;
    result.then(
      (recoded) => {
        owner.bytes += recoded.length;
        // Re-setting updates the entry's size; skipped once it was evicted, or it would return.
        if (memo.peek(body) === owner) memo.set(body, owner);
      },
      () => undefined,
    );
  }
  return result;
}

/** Undoes the codings, last applied first. */
export async function decode(body: Buffer, codings: readonly string[]): Promise<Buffer> {
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!;
    try {
      out = await decodeOne(out, coding);
    } catch (err) {
      if (err instanceof UndecodableBodyError) throw err;
      throw new UndecodableBodyError(`the ${coding} body could not be decoded: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

function decodeOne(body: Buffer, coding: string): Promise<Buffer> {
  const options = { maxOutputLength: MAX_DECODED_BYTES };
  if (coding === 'gzip') return gunzip(body, options);
  if (coding === 'br') return brotliDecompress(body, options);
  // "deflate" means the zlib format (RFC 9110 §8.4.1.2), but some servers send raw deflate.
  if (coding === 'deflate') return hasZlibHeader(body) ? inflate(body, options) : inflateRaw(body, options);
  return Promise.reject(new UndecodableBodyError(`the proxy cannot decode the ${coding} coding`));
}

function encode(plain: Buffer, to: ProducedCoding): Promise<Buffer> {
  if (to === 'gzip') return gzip(plain);
  if (to === 'br') return brotliCompress(plain, brotliOptions(plain.length));
  return Promise.resolve(plain);
}

/** A decoder for a streamed body with one coding the proxy knows, or null. */
export function decodingStream(codings: readonly string[]): Transform | null {
  if (codings.length !== 1) return null;
  // Streamed through, never held: no output bound is needed.
  const coding = codings[0];
  if (coding === 'gzip') return zlib.createGunzip();
  if (coding === 'br') return zlib.createBrotliDecompress();
  // A stream cannot be sniffed before it starts: deflate is taken to be the standard zlib format.
  if (coding === 'deflate') return zlib.createInflate();
  return null;
}

function brotliOptions(size: number): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

/** RFC 1950 header: compression method 8, and the two bytes a multiple of 31. */
function hasZlibHeader(body: Buffer): boolean {
  return body.length >= 2 && (body[0]! & 0x0f) === 8 && ((body[0]! << 8) | body[1]!) % 31 === 0;
}
