import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { ResilienceError } from '../resilience/errors.js';
import { FAILURE_BODY_SNIPPET_BYTES, needsBodySnippet } from '../resilience/retry-after.js';
import { isRetryableMethod, retryOnceOnReset } from '../resilience/retry.js';
import type { Permit, UpstreamGuard } from '../resilience/upstream-guard.js';
import type { UpstreamConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import type { ProxyEvents } from './events.js';
import { unsendableReason } from './sendable.js';

/** Told when an upstream call starts and when its response headers (or its failure) arrive. */
export type UpstreamEvents = Pick<ProxyEvents, 'upstreamStarted' | 'upstreamFinished' | 'upstreamAbandoned'>;

/** A request as sent to an upstream: path already includes the target's base path and the query. */
export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, …] list, repeated fields kept. */
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
  readonly signal?: AbortSignal;
  /** Told of each 1xx interim response the upstream sends before its final one. */
  readonly onInterim?: (status: number, headers: Record<string, string | string[] | undefined>) => void;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

/**
 * One keep-alive undici Pool per enabled upstream, each behind its upstream's guard (Retry-After
 * pause, failure-rate breaker, concurrency limit). Failures come back as catalogued errors.
 */
export class Forwarder {
  readonly #pools = new Map<string, Pool>();
  readonly #guards: ReadonlyMap<string, UpstreamGuard>;
  readonly #events: UpstreamEvents | undefined;

  /** `guards`: each enabled upstream's guard (`upstreamGuards`); the forwarder sends through them. */
  constructor(upstreams: readonly UpstreamConfig[], guards: ReadonlyMap<string, UpstreamGuard>, events?: UpstreamEvents) {
    this.#guards = guards;
    this.#events = events;
    for (const upstream of upstreams) {
      if (upstream.target === null) continue;
      this.#pools.set(
        upstream.name,
        new Pool(upstream.target.origin, {
          connections: upstream.pool.connections,
          pipelining: 1,
          connect: { timeout: upstream.pool.connectTimeoutMs },
          headersTimeout: upstream.pool.headersTimeoutMs,
          bodyTimeout: upstream.pool.bodyTimeoutMs,
          keepAliveTimeout: upstream.pool.keepAliveTimeoutMs,
        }),
      );
    }
  }

  /**
   * Sends one request through the upstream's guard. `wait: false` is for callers with something
   * else to serve (a stale entry, a background refresh): they would rather be refused at once
   * than queue behind a saturated upstream. Bodiless reads are retried once on a connection reset
   * before any response byte; writes never are.
   */
  async request(upstream: string, request: UpstreamRequest, options: { wait?: boolean } = {}): Promise<UpstreamResponse> {
    const pool = this.#pools.get(upstream);
    const guard = this.#guards.get(upstream);
    if (pool === undefined || guard === undefined) throw new SidecacheError('upstream_disabled');
    const unsendable = unsendableReason(request.method, request.path, request.headers);
    if (unsendable !== null) throw new SidecacheError('request_not_forwardable', `sidecache cannot send this request upstream: ${unsendable}; nothing was sent`);
    const { protection } = guard;
    let permit: Permit;
    try {
      permit = await guard.admit({ wait: options.wait ?? true, bulk: request.body instanceof Readable, ...(request.signal !== undefined && { signal: request.signal }) });
    } catch (err) {
      throw refusal(err);
    }

    const events = this.#events;
    const started = performance.now();
    events?.upstreamStarted(upstream);
    let response: Dispatcher.ResponseData;
    try {
      response = await retryOnceOnReset(
        () =>
          pool.request({
            method: request.method as 'GET',
            path: request.path,
            headers: request.headers,
            body: request.body,
            signal: request.signal,
            ...(request.onInterim !== undefined && { onInfo: interimListener(request.onInterim) }),
          }),
        {
          isIdempotent: protection.retryOnReset && isRetryableMethod(request.method) && !(request.body instanceof Readable),
          jitterMs: protection.retryJitterMs,
          ...(request.signal !== undefined && { signal: request.signal }),
        },
      );
    } catch (err) {
      if (request.signal?.aborted === true) events?.upstreamAbandoned?.(upstream);
      else events?.upstreamFinished(upstream, null, (performance.now() - started) / 1000);
      // A client that went away, or a request undici refused to build (nothing was sent), says
      // nothing about the upstream's health.
      if (request.signal?.aborted !== true && !refusedToBuild(err)) permit.failure();
      permit.release();
      throw upstreamError(err);
    }
    events?.upstreamFinished(upstream, response.statusCode, (performance.now() - started) / 1000);
    let body: Readable = response.body;
    if (needsBodySnippet(response.statusCode)) {
      const peeked = await peekBody(response.body, FAILURE_BODY_SNIPPET_BYTES);
      permit.response(response.statusCode, response.headers, peeked.head);
      body = peeked.body;
    } else {
      permit.response(response.statusCode, response.headers);
    }
    // The slot is held until the body is done: a slow body still occupies the upstream.
    body.once('close', () => permit.release());
    return { status: response.statusCode, headers: response.headers, body };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }
}

function interimListener(onInterim: NonNullable<UpstreamRequest['onInterim']>) {
  return (info: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => onInterim(info.statusCode, info.headers);
}

/** A guard's refusal as a catalogued error, carrying when to retry. */
function refusal(err: unknown): SidecacheError {
  if (err instanceof ResilienceError) return new SidecacheError(err.code, err.message, { cause: err, retryAfterMs: err.retryAfterMs });
  return upstreamError(err);
}

/**
 * The first `bytes` of a body, and a stream that still yields all of it (the 403 classifier
 * needs Salesforce's error code; the client still gets the whole body).
 */
async function peekBody(body: Readable, bytes: number): Promise<{ head: Buffer; body: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let done = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(chunks, size);
  async function* replay(): AsyncGenerator<Buffer> {
    yield* chunks;
    if (done) return;
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    } finally {
      await iterator.return?.();
    }
  }
  return { head: head.subarray(0, bytes), body: Readable.from(replay(), { objectMode: false }) };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const RESET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

/** undici's refusals of a request it cannot build (a header value with CR/LF, …): raised before anything is sent. */
const REFUSED_TO_BUILD = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

export function refusedToBuild(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSED_TO_BUILD.has(code);
}

/** Maps an undici or socket error to the catalogue; our own errors (body limits) pass through. */
export function upstreamError(err: unknown): SidecacheError {
  if (err instanceof SidecacheError) return err;
  if (refusedToBuild(err)) return new SidecacheError('request_not_forwardable', `sidecache cannot send this request upstream: ${(err as Error).message}`, { cause: err });
  const code = errorCode(err);
  if (code !== undefined && UNREACHABLE.has(code)) return new SidecacheError('upstream_unreachable', undefined, { cause: err });
  if (code !== undefined && TIMEOUT.has(code)) return new SidecacheError('upstream_timeout', undefined, { cause: err });
  if (code !== undefined && RESET.has(code)) return new SidecacheError('upstream_connection_reset', undefined, { cause: err });
  return new SidecacheError('upstream_bad_response', undefined, { cause: err });
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE.has(code) || TIMEOUT.has(code) || RESET.has(code))) return code;
    // Happy-eyeballs connects fail with an AggregateError of the per-address errors.
    current = current instanceof AggregateError && current.errors[0] instanceof Error ? current.errors[0] : current.cause;
  }
  return undefined;
}
