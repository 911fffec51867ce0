import type { IncomingMessage } from 'node:http';
import type { Test } from 'tap';
import { loadConfig } from '../../../src/config/load.js';
import { startProxy, type ProxyResponse, type RunningProxy } from '../../helpers/app.js';
import { fakeClock, type FakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type FakeUpstream, type ReceivedRequest } from '../../helpers/fake-upstream.js';

/** The upstream of issue 17 exactly as an operator writes it: standards mode, no ttl of its own. */
export const STANDARDS_YAML = (target: string): string => `upstreams:
  - name: origin
    prefix: /
    target: ${target}
    rules:
      - name: everything
        methods: [GET, HEAD]
        path: /*
        scope: shared
        respectCacheControl: true
`;

/** What the fake origin answers. `date: null` sends no Date; absent, Date is the fake clock's now. */
export interface OriginReply {
  readonly status?: number;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string;
  readonly date?: string | null;
}

/** Decides the origin's answer; `n` counts the requests the origin has received for this path (1-based). */
export type OriginScript = (req: IncomingMessage, n: number) => OriginReply | Promise<OriginReply>;

export interface Standards {
  readonly clock: FakeClock;
  readonly origin: FakeUpstream;
  readonly proxy: RunningProxy;
  /** Sets what the origin answers from now on. */
  serve(script: OriginScript): void;
  /** A GET through the proxy; waits for the background store before returning. */
  get(path: string, headers?: Record<string, string | string[]>): Promise<ProxyResponse>;
  /** A HEAD through the proxy; waits for the background store before returning. */
  head(path: string, headers?: Record<string, string | string[]>): Promise<ProxyResponse>;
  /** The requests the origin received, for one path or all of them. */
  seen(path?: string): ReceivedRequest[];
  /** Moves the fake clock forward by whole seconds. */
  advance(seconds: number): void;
  /** An HTTP-date `offsetSeconds` from the fake clock's now. */
  httpDate(offsetSeconds?: number): string;
}

/** The default origin: 200, `Cache-Control: max-age=60`, a body naming the path and the request number. */
export const maxAge60: OriginScript = (req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `${req.url} #${n}` });

/** Starts the fake origin and the proxy from the YAML above, on a fake clock at a whole second. */
export async function startStandards(t: Test, script: OriginScript = maxAge60): Promise<Standards> {
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  let current = script;
  const counts = new Map<string, number>();
  const origin = await startFakeUpstream(async (req, res) => {
    const n = (counts.get(req.url!) ?? 0) + 1;
    counts.set(req.url!, n);
    const reply = await current(req, n);
    // Node stamps a real-time Date otherwise; ages are computed from the fake clock's.
    res.sendDate = false;
    const date = reply.date === undefined ? new Date(clock.now()).toUTCString() : reply.date;
    if (date !== null) res.setHeader('date', date);
    if (reply.body !== undefined && !('content-type' in (reply.headers ?? {}))) res.setHeader('content-type', 'text/plain');
    const status = reply.status ?? 200;
    const bodyless = status === 304 || status === 204;
    // A HEAD gets the Content-Length its GET would have had (RFC 9110 §9.3.2, §8.6).
    if (!bodyless) res.setHeader('content-length', Buffer.byteLength(reply.body ?? ''));
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    res.statusCode = status;
    res.end(bodyless ? undefined : reply.body);
  });
  t.teardown(() => origin.close());

  const dir = t.testdir({ 'proxy.config.yaml': STANDARDS_YAML(origin.url) });
  const { config } = loadConfig({ path: `${dir}/proxy.config.yaml`, env: {} });
  const proxy = await startProxy(t, { ...testConfig([]), upstreams: config.upstreams }, { clock });

  const send = async (method: string, path: string, headers: Record<string, string | string[]> = {}) => {
    const response = await proxy.fetch(path, { method, headers });
    await settle();
    return response;
  };
  return {
    clock,
    origin,
    proxy,
    serve(next) {
      current = next;
    },
    get: (path, headers) => send('GET', path, headers),
    head: (path, headers) => send('HEAD', path, headers),
    seen: (path) => (path === undefined ? origin.received : origin.received.filter((r) => r.url === path)),
    advance: (seconds) => clock.advance(seconds * 1000),
    httpDate: (offsetSeconds = 0) => new Date(clock.now() + offsetSeconds * 1000).toUTCString(),
  };
}

/** Lets background work (stores to the memory tier, the response's tail) finish: a few ms of real time. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 3));
}

/** Polls (real time, a few ms apart) until `condition` holds; fails after `ms`. */
export async function waitFor(condition: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves with the promise, or rejects if it takes longer than `ms` of real time ("served at once"). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Age a client received, as a number (NaN when absent). */
export function age(response: ProxyResponse): number {
  const value = response.headers['age'];
  return value === undefined ? Number.NaN : Number(Array.isArray(value) ? value[0] : value);
}

/**
 * A 5xx met while validating may be passed on or treated as no answer (RFC 9111 §4.3.3), which a
 * cache that may not serve stale turns into 504 (§4.2.4). Either way the client must not get `stale`.
 */
export function isOriginErrorOr504(response: ProxyResponse, originBody: string): boolean {
  if (response.status === 504) return true;
  return response.status === 500 && response.body.toString() === originBody;
}

/** A response header as one string (repeated lines joined), or undefined. */
export function header(response: ProxyResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
