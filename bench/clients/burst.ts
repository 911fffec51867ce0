/**
 * Load child for scenario 9 (cold burst), run pinned to the load core: GETs each of COUNT paths
 * `${PATH_PREFIX}${i}` on BASE_URL exactly once with CONCURRENCY requests in flight, then does a
 * second pass over the same paths. After each pass it reads COUNT_URL (the upstream's /__count).
 * Prints one JSON line: per pass, statuses, x-cache values, errors, wall time and p50/p99.
 * Env: BASE_URL, PATH_PREFIX, COUNT, CONCURRENCY, TIMEOUT_MS, COUNT_URL.
 */
import { Pool, request } from 'undici';
import { envText } from '../lib/child-env.js';
import { percentile } from '../lib/stats.js';

const BASE_URL = envText('BASE_URL');
const PATH_PREFIX = envText('PATH_PREFIX');
const COUNT = Number(envText('COUNT'));
const CONCURRENCY = Number(envText('CONCURRENCY'));
const TIMEOUT_MS = Number(envText('TIMEOUT_MS'));
const COUNT_URL = envText('COUNT_URL');

/** One pass over the URLs, as printed for the bench (bench/scenarios/cold-burst.ts reads it). */
export interface Pass {
  readonly wallMs: number;
  readonly statuses: Record<string, number>;
  readonly xCache: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The upstream's call count when the pass ended. */
  readonly upstreamCount: number;
}

const tally = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

async function upstreamCount(): Promise<number> {
  const res = await request(COUNT_URL, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  return ((await res.body.json()) as { count: number }).count;
}

async function pass(pool: Pool): Promise<Pass> {
  const statuses: Record<string, number> = {};
  const xCache: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < COUNT) {
      const path = `${PATH_PREFIX}${next++}`;
      const sent = performance.now();
      try {
        const res = await pool.request({ method: 'GET', path, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
        await res.body.dump();
        latencies.push(performance.now() - sent);
        tally(statuses, String(res.statusCode));
        const x = res.headers['x-cache'];
        tally(xCache, Array.isArray(x) ? x.join(',') : (x ?? 'none'));
      } catch (err) {
        tally(errors, (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error'));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wallMs = performance.now() - started;
  return {
    wallMs,
    statuses,
    xCache,
    errors,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(0, ...latencies),
    upstreamCount: await upstreamCount(),
  };
}

const pool = new Pool(BASE_URL, { connections: CONCURRENCY });
try {
  const upstreamBefore = await upstreamCount();
  const first = await pass(pool);
  const second = await pass(pool);
  process.stdout.write(`${JSON.stringify({ count: COUNT, concurrency: CONCURRENCY, upstreamBefore, first, second })}\n`);
} finally {
  await pool.close();
}
