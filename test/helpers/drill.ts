import type { Test } from 'tap';
import { Agent, request, type Dispatcher } from 'undici';
import { listeningUrl, type SidecacheProcess } from './process.js';

/** Shared plumbing of the fault drills: real sidecache processes, probed over HTTP only. */

/**
 * undici runs headers and body timeouts on its coarse "fast timers" (a tick every ~500 ms, 1 s
 * resolution): a timeout of `d` fires between `d` and about `d + 1000` ms, whatever `d` is.
 */
export const UNDICI_TIMER_SLACK_MS = 1_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`'s value, or `fallback` once `ms` have passed (the timer never outlives the race). */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// One polling helper for every integration test.
import { waitFor } from '../integration/tiers-e2e/helpers.js';
export { waitFor };

/** The admin listener's URL, from its "Server listening at" line (the admin logger marks its lines). */
export function adminUrl(proc: SidecacheProcess, timeoutMs = 10_000): Promise<string> {
  return waitFor('the admin listener', () => {
    for (const line of proc.output) {
      const url = listeningUrl(line, 'admin');
      if (url !== undefined) return url;
    }
    return undefined;
  }, timeoutMs);
}

/** One answered request (or the error that stopped it before a response, `status` 0). */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Wall time from sending to the end of the body. */
  readonly ms: number;
  readonly error?: string;
  readonly code?: string;
  /** With `error`: true when it failed before any response arrived (a load balancer may retry elsewhere). */
  readonly beforeResponse?: boolean;
  json<T = Record<string, unknown>>(): T;
}

export interface Client {
  /** GET; never throws: a request that failed has status 0 and `error`. */
  get(url: string, headers?: Record<string, string>): Promise<Answer>;
  readonly agent: Agent;
}

/** A keep-alive client with generous timeouts (every drill bounds its own waits), closed at test end. */
export function client(t: Test, options: { connections?: number; timeoutMs?: number } = {}): Client {
  const agent = new Agent({ connections: options.connections ?? 64, headersTimeout: options.timeoutMs ?? 30_000, bodyTimeout: options.timeoutMs ?? 30_000 });
  t.teardown(() => agent.destroy());
  return {
    agent,
    async get(url, headers = {}) {
      const started = performance.now();
      let response: Dispatcher.ResponseData | undefined;
      try {
        response = await request(url, { dispatcher: agent, headers });
        const body = await response.body.text();
        return answer(response.statusCode, response.headers, body, performance.now() - started);
      } catch (err) {
        const e = err as Error & { code?: string };
        const failed = answer(0, response?.headers ?? {}, '', performance.now() - started);
        return { ...failed, error: e.message, beforeResponse: response === undefined, ...(e.code !== undefined && { code: e.code }) };
      }
    },
  };
}

function answer(status: number, headers: Answer['headers'], body: string, ms: number): Answer {
  return { status, headers, body, ms, json: <T>() => JSON.parse(body) as T };
}

/** A header's single value. */
export const header = (a: Answer, name: string): string | undefined => {
  const value = a.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

export interface Readyz {
  status: string;
  upstreams: Record<string, { state: string; circuit?: string; pausedForMs?: number; limit?: number; inFlight?: number; queued?: number }>;
  tiers: Record<string, string>;
  audit?: string;
}

/** `/readyz` as JSON (proxy or admin listener). */
export async function readyz(base: string): Promise<{ status: number; body: Readyz }> {
  const response = await request(`${base}/readyz`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: response.statusCode, body: (await response.body.json()) as Readyz };
}

/** One sample of a metric from the admin listener's `/metrics` (undefined when absent). */
export async function metric(admin: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const response = await request(`${admin}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await response.body.text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** Nearest-rank percentile and a min/p50/p99/max line, for the report. */
export function summary(samples: readonly { ms: number }[]): string {
  if (samples.length === 0) return 'n=0';
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil((p / 100) * ms.length) - 1))]!;
  return `n=${ms.length} min=${ms[0]!.toFixed(0)} p50=${at(50).toFixed(0)} p99=${at(99).toFixed(0)} max=${ms[ms.length - 1]!.toFixed(0)} ms`;
}

/** Distinct values of `key` over `items`, with counts: "STALE×10 MISS×2". */
export function tally<T>(items: readonly T[], key: (item: T) => unknown): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(String(key(item)), (counts.get(String(key(item))) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}×${n}`).join(' ');
}

/**
 * `workers` concurrent loops, each sending one request at a time (`send(n)`, n counting from 0
 * across all workers) with `pauseMs` between requests, until `stop()` is true, `maxPerWorker`
 * requests or `maxMs` have passed: bounded in count and time whatever happens.
 */
export async function loadUntil<S>(options: {
  /** Where samples are pushed as they complete (default: a new array). */
  samples?: S[];
  workers: number;
  send: (n: number) => Promise<S>;
  stop: () => boolean;
  pauseMs: number;
  maxPerWorker: number;
  maxMs: number;
}): Promise<S[]> {
  const samples: S[] = options.samples ?? [];
  const deadline = performance.now() + options.maxMs;
  let n = 0;
  await Promise.all(
    Array.from({ length: options.workers }, async () => {
      for (let i = 0; i < options.maxPerWorker && !options.stop() && performance.now() < deadline; i++) {
        samples.push(await options.send(n++));
        await sleep(options.pauseMs);
      }
    }),
  );
  return samples;
}
