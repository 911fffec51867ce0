import { Pool } from 'undici';
import type { Readable } from 'node:stream';
import type { UpstreamConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';

/** A request as sent to an upstream: path already includes the target's base path and the query. */
export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, …] list, repeated fields kept. */
  readonly headers: string[];
  readonly body: Readable | Buffer | null;
  readonly signal?: AbortSignal;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

/** One keep-alive undici Pool per enabled upstream; failures come back as catalogued errors. */
export class Forwarder {
  readonly #pools = new Map<string, Pool>();

  constructor(upstreams: readonly UpstreamConfig[]) {
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

  async request(upstream: string, request: UpstreamRequest): Promise<UpstreamResponse> {
    const pool = this.#pools.get(upstream);
    if (pool === undefined) throw new SidecacheError('upstream_disabled');
    try {
      const response = await pool.request({
        method: request.method as 'GET',
        path: request.path,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (err) {
      throw upstreamError(err);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const RESET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

/** Maps an undici or socket error to the catalogue; our own errors (body limits) pass through. */
export function upstreamError(err: unknown): SidecacheError {
  if (err instanceof SidecacheError) return err;
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
