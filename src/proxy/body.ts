import { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { RequestBodyConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import { clientFaultOf } from './client-fault.js';
import { replayStream } from './replay-stream.js';

/** How slowly a client may send a body (`server.requestBody`); 0 turns a check off. */
export type BodyPace = Pick<RequestBodyConfig, 'idleTimeoutMs' | 'minBytesPerSecond' | 'minRateAfterMs'>;

export interface BodyGuardOptions {
  /** The client's request stream: its failures are blamed on the client. */
  readonly source: Readable;
  readonly maxBytes: number;
  readonly pace: BodyPace | null;
  /** Told synchronously when the body fails (too large, too slow, client gone), before any reader is. */
  readonly onError?: (err: SidecacheError) => void;
  /** Told the running byte count after each chunk. */
  readonly onBytes?: (bytes: number) => void;
}

/**
 * A request body stream that fails with a catalogued error: `request_body_too_large` past
 * `maxBytes`, `request_body_timeout` when no byte came for `idleTimeoutMs` or the average rate
 * stayed under `minBytesPerSecond` after `minRateAfterMs`, and the client's fault (aborted,
 * malformed chunking) when the request stream breaks.
 *
 * Time the guard spends backpressured (its reader, the upstream, is not taking bytes) is not the
 * client's: it neither counts as idle nor lowers the rate.
 */
class BodyGuard extends Transform {
  bytes = 0;
  readonly #options: BodyGuardOptions;
  readonly #startedAt = performance.now();
  #lastByteAt = this.#startedAt;
  #lastTickAt = this.#startedAt;
  #heldMs = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: BodyGuardOptions) {
    super();
    this.#options = options;
    const pace = options.pace;
    if (pace !== null && (pace.idleTimeoutMs > 0 || pace.minBytesPerSecond > 0)) {
      this.#timer = setInterval(() => this.#check(), tickMs(pace));
      this.#timer.unref();
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.#lastByteAt = performance.now();
    this.#options.onBytes?.(this.bytes);
    if (this.bytes > this.#options.maxBytes) callback(tooLarge(this.#options.maxBytes));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#stopTimer();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopTimer();
    if (err === null) return callback(null);
    // Our own limits fail as SidecacheErrors; a broken request stream is the client's doing; any
    // other error comes from the reader (the upstream call failing) and is its to report.
    const blamed = err instanceof SidecacheError ? err : this.#options.source.destroyed ? clientError(this.#options.source, err) : null;
    if (blamed === null) return callback(err);
    this.#options.onError?.(blamed);
    callback(blamed);
  }

  #check(): void {
    const pace = this.#options.pace!;
    const now = performance.now();
    const sinceTick = now - this.#lastTickAt;
    this.#lastTickAt = now;
    if (this.writableFinished) return this.#stopTimer();
    if (this.readableLength >= this.readableHighWaterMark) {
      this.#heldMs += sinceTick;
      this.#lastByteAt = now;
      return;
    }
    if (pace.idleTimeoutMs > 0 && now - this.#lastByteAt >= pace.idleTimeoutMs) {
      return void this.destroy(new SidecacheError('request_body_timeout', `no request body byte arrived for ${pace.idleTimeoutMs} ms`));
    }
    const clientMs = now - this.#startedAt - this.#heldMs;
    if (pace.minBytesPerSecond > 0 && clientMs >= pace.minRateAfterMs && this.bytes * 1000 < pace.minBytesPerSecond * clientMs) {
      const rate = Math.round((this.bytes * 1000) / clientMs);
      this.destroy(new SidecacheError('request_body_timeout', `the request body arrived at ${rate} bytes/s, below the minimum of ${pace.minBytesPerSecond}`));
    }
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** How often the pace is checked: a quarter of the shorter window, within 25 ms … 1 s. */
function tickMs(pace: BodyPace): number {
  const windows = [pace.idleTimeoutMs, pace.minBytesPerSecond > 0 ? pace.minRateAfterMs : 0].filter((ms) => ms > 0);
  const shortest = windows.length === 0 ? 1000 : Math.min(...windows);
  return Math.min(1000, Math.max(25, shortest / 4));
}

/** A failure of the client's request stream, as the catalogued fault the listener noted for it. */
function clientError(source: Readable, cause: Error): SidecacheError {
  const code = source instanceof IncomingMessage ? clientFaultOf(source).code : 'client_aborted';
  return new SidecacheError(code, undefined, { cause });
}

/** The client's body piped through a guard; the pipeline's own callback is not needed (the guard carries every error). */
export function guardedBody(options: BodyGuardOptions): BodyGuard {
  const guard = new BodyGuard(options);
  pipeline(options.source, guard, () => undefined);
  return guard;
}

/** Whether a request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
export function hasRequestBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Reads a whole request body into memory, refusing more than `maxBytes`, at the client's pace if given. */
export async function readBody(stream: Readable, declaredLength: string | undefined, maxBytes: number, pace: BodyPace | null = null): Promise<Buffer> {
  if (declaredLength !== undefined && Number(declaredLength) > maxBytes) {
    stream.resume();
    throw tooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of guardedBody({ source: stream, maxBytes, pace })) {
    size += (chunk as Buffer).length;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A body as it is sent upstream: whole, once received, when it is at most `bufferUpTo` bytes
 * (so a slow client holds no upstream slot while it sends); else a stream of the part already
 * received followed by the rest, as it arrives.
 */
export async function receiveBody(guard: BodyGuard, declaredLength: string | undefined, bufferUpTo: number): Promise<Buffer | Readable> {
  if (declaredLength !== undefined && Number(declaredLength) > bufferUpTo) return guard;
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = guard[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    chunks.push(next.value);
    size += next.value.length;
    if (size > bufferUpTo) return replayStream(chunks, iterator);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(maxBytes: number): SidecacheError {
  return new SidecacheError('request_body_too_large', `request body exceeds ${maxBytes} bytes`);
}
