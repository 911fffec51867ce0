import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { SidecacheError } from '../errors.js';

/** A request body stream that fails with `request_body_too_large` past `maxBytes` and counts what passed. */
export class BodyLimit extends Transform {
  bytes = 0;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    super();
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#maxBytes) callback(tooLarge(this.#maxBytes));
    else callback(null, chunk);
  }
}

/** Whether a request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
export function hasRequestBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Reads a whole request body into memory, refusing more than `maxBytes`. */
export async function readBody(stream: Readable, declaredLength: string | undefined, maxBytes: number): Promise<Buffer> {
  if (declaredLength !== undefined && Number(declaredLength) > maxBytes) {
    stream.resume();
    throw tooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.resume();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(maxBytes: number): SidecacheError {
  return new SidecacheError('request_body_too_large', `request body exceeds ${maxBytes} bytes`);
}
