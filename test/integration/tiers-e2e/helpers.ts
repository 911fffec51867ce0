import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { ENTRY_FORMAT_VERSION } from '../../../src/cache/entry.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

/** Polls `probe` until it returns something other than undefined/false, bounded by `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The Redis key of a cache entry and the namespace index (src/cache/tiers/redis.ts). */
export const redisEntryKey = (namespace: string, cacheKey: string) => `sidecache:${namespace}:v${ENTRY_FORMAT_VERSION}:e:${cacheKey}`;
export const redisIndexKey = (namespace: string) => `sidecache:${namespace}:v${ENTRY_FORMAT_VERSION}:idx`;

/** A plain ioredis client to look at what sidecache wrote, disconnected when the test ends. */
export function redisClient(t: Test, url: string): Redis {
  const client = new Redis(url, { connectTimeout: 2_000, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  t.teardown(() => client.disconnect());
  return client;
}

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
  text(): string;
}

/** A keep-alive HTTP client closed when the test ends. */
export function httpClient(t: Test, connections = 64) {
  const agent = new Agent({ connections, headersTimeout: 20_000, bodyTimeout: 20_000 });
  t.teardown(() => agent.close());
  return async function get(url: string, headers: Record<string, string> = {}): Promise<Got> {
    const started = performance.now();
    const response = await request(url, { dispatcher: agent, headers });
    const body = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers, body, ms: performance.now() - started, text: () => body.toString('utf8') };
  };
}

/** `/readyz` as JSON. */
export async function readyz(base: string): Promise<{ status: number; body: { status: string; tiers: Record<string, string> } }> {
  const response = await request(`${base}/readyz`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: response.statusCode, body: (await response.body.json()) as { status: string; tiers: Record<string, string> } };
}

/**
 * An upstream answering `/items/:id` with a body naming the path and a per-path version that
 * goes up on every call, after `delayMs`.
 */
export async function versionedUpstream(t: Test, delayMs = 0): Promise<FakeUpstream & { calls(path: string): number }> {
  const versions = new Map<string, number>();
  const upstream = await startFakeUpstream(async (req, res) => {
    const version = (versions.get(req.url!) ?? 0) + 1;
    versions.set(req.url!, version);
    if (delayMs > 0) await sleep(delayMs);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, version }));
  });
  t.teardown(() => upstream.close());
  return Object.assign(upstream, { calls: (path: string) => versions.get(path) ?? 0 });
}

/** Nearest-rank percentile of `values` (0-100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** A port that nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One request of a load run. */
export interface LoadSample {
  readonly path: string;
  /** Start time, ms since the run began. */
  readonly startedAt: number;
  readonly ms: number;
  /** 0 when the request itself failed (connection error). */
  readonly status: number;
  readonly cache: string | undefined;
  readonly tier: string | undefined;
  readonly error?: string;
}

/**
 * `loops` concurrent loops each sending `perLoop` requests spread evenly over `durationMs`,
 * round-robin over `paths`; resolves every sample. Never throws for a failed request.
 */
export async function runLoad(options: {
  base: string;
  paths: readonly string[];
  loops: number;
  perLoop: number;
  durationMs: number;
  get: (url: string) => Promise<Got>;
}): Promise<{ samples: LoadSample[]; startedAt: number }> {
  const { base, paths, loops, perLoop, durationMs, get } = options;
  const startedAt = performance.now();
  const step = durationMs / perLoop;
  const samples: LoadSample[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let i = 0; i < perLoop; i++) {
        const due = startedAt + i * step + (loop * step) / loops;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const path = paths[next++ % paths.length]!;
        const begin = performance.now();
        try {
          const got = await get(base + path);
          samples.push({ path, startedAt: begin - startedAt, ms: got.ms, status: got.status, cache: str(got.headers['x-cache']), tier: str(got.headers['x-cache-tier']) });
        } catch (err) {
          samples.push({ path, startedAt: begin - startedAt, ms: performance.now() - begin, status: 0, cache: undefined, tier: undefined, error: (err as Error).message });
        }
      }
    }),
  );
  return { samples, startedAt };
}

const str = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(',') : value);

/** min/p50/p99/max of sample latencies, for the report. */
export function latencySummary(samples: readonly { ms: number }[]): string {
  const ms = samples.map((s) => s.ms);
  return `n=${ms.length} min=${fmt(Math.min(...ms))} p50=${fmt(percentile(ms, 50))} p99=${fmt(percentile(ms, 99))} max=${fmt(Math.max(...ms))}`;
}

/**
 * A TCP relay on 127.0.0.1 to `target`, which the test can cut (listener closed, every relayed
 * connection destroyed: like the network to the server going away) and restore on the same port.
 */
export class TcpRelay {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#targetHost = target.host;
    this.#targetPort = target.port;
  }

  /** Starts listening (on `port`, or the port it had, or a free one). */
  async listen(port = this.port): Promise<void> {
    if (this.#server !== null) return;
    const server = createServer((client) => {
      const upstream = connect({ host: this.#targetHost, port: this.#targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes the listener and destroys every relayed connection; connects are refused until `listen()`. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  get connections(): number {
    return this.#sockets.size / 2;
  }
}
