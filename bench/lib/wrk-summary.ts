/**
 * The JSON summary bench/lib/wrk-summary.lua writes at the end of a wrk run, parsed and checked,
 * and the pooling of several runs of one target into one set of figures. Pure: no I/O.
 */

export interface WrkErrors {
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  /** Responses with a status >= 400 (wrk's "Non-2xx or 3xx responses"). */
  readonly status: number;
  readonly timeout: number;
}

/** One wrk run. Latencies in milliseconds. */
export interface WrkRun {
  /** Responses received. */
  readonly requests: number;
  /** How long the load ran: wrk's duration less the start delay, if any. */
  readonly seconds: number;
  readonly rps: number;
  readonly bytes: number;
  readonly errors: WrkErrors;
  readonly p50: number;
  readonly p99: number;
  readonly maxMs: number;
  /** [percentile, latency ms] on the script's grid, ascending; the last is [100, max]. */
  readonly quantiles: readonly (readonly [number, number])[];
}

const ERROR_KINDS = ['connect', 'read', 'write', 'status', 'timeout'] as const;

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`wrk summary: ${what} is not a count (${JSON.stringify(value)})`);
  return value;
}

/** Parses the script's JSON (one object; surrounding whitespace allowed); throws naming the bad field. */
export function parseWrkSummary(text: string): WrkRun {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`wrk summary is not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new Error('wrk summary is not an object');
  const o = raw as Record<string, unknown>;
  const requests = count(o['requests'], 'requests');
  const durationUs = count(o['durationUs'], 'durationUs');
  // The pause before the first requests (wrk-summary.lua) is in wrk's duration but carries no load.
  const startDelayUs = o['startDelayUs'] === undefined ? 0 : count(o['startDelayUs'], 'startDelayUs');
  if (durationUs <= startDelayUs) throw new Error(`wrk summary: durationUs ${durationUs} is not beyond the start delay (${startDelayUs} µs)`);
  const e = (o['errors'] ?? {}) as Record<string, unknown>;
  const errors = Object.fromEntries(ERROR_KINDS.map((k) => [k, count(e[k], `errors.${k}`)])) as unknown as WrkErrors;
  const l = (o['latencyUs'] ?? {}) as Record<string, unknown>;
  const rawQuantiles = o['quantiles'];
  if (!Array.isArray(rawQuantiles) || rawQuantiles.length === 0) throw new Error('wrk summary: quantiles missing');
  const quantiles = rawQuantiles.map((pair: unknown, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error(`wrk summary: quantiles[${i}] is not [p, us]`);
    const p = count(pair[0], `quantiles[${i}][0]`);
    if (p > 100) throw new Error(`wrk summary: quantiles[${i}] percentile ${p} > 100`);
    return [p, count(pair[1], `quantiles[${i}][1]`) / 1000] as const;
  });
  for (let i = 1; i < quantiles.length; i++) {
    if (quantiles[i]![0] <= quantiles[i - 1]![0]) throw new Error('wrk summary: quantile percentiles are not ascending');
  }
  const seconds = (durationUs - startDelayUs) / 1e6;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    bytes: count(o['bytes'], 'bytes'),
    errors,
    p50: count(l['p50'], 'latencyUs.p50') / 1000,
    p99: count(l['p99'], 'latencyUs.p99') / 1000,
    maxMs: count(l['max'], 'latencyUs.max') / 1000,
    quantiles,
  };
}

/** Errors of every kind in a run (status errors included). */
export const errorTotal = (e: WrkErrors): number => e.connect + e.read + e.write + e.status + e.timeout;

/**
 * The latency at percentile `p` (0..100) of several runs pooled, as if they were one run: each
 * run's grid point [p_i, v_i] stands for requests × (p_i - p_{i-1}) / 100 requests at v_i (the
 * upper end of the slice, so never optimistic). A single run gives back its own grid values.
 */
export function pooledPercentile(runs: readonly WrkRun[], p: number): number {
  const points: { value: number; weight: number }[] = [];
  let total = 0;
  for (const run of runs) {
    let previous = 0;
    for (const [pi, value] of run.quantiles) {
      const weight = (run.requests * (pi - previous)) / 100;
      previous = pi;
      if (weight <= 0) continue;
      points.push({ value, weight });
      total += weight;
    }
  }
  if (total === 0) return Number.NaN;
  points.sort((a, b) => a.value - b.value);
  const wanted = (p / 100) * total;
  let cumulative = 0;
  for (const point of points) {
    cumulative += point.weight;
    // A relative tolerance: the weights are fractions, and a sum may fall a hair short of `wanted`.
    if (cumulative >= wanted * (1 - 1e-9)) return point.value;
  }
  return points[points.length - 1]!.value;
}

/** Several runs of one target as one: req/s over the summed time, pooled p50/p99, summed errors. */
export interface PooledRuns {
  readonly runs: number;
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly maxMs: number;
  readonly errors: number;
  /** Responses with a status >= 400. */
  readonly httpErrors: number;
  /** Each run's own req/s and p99, in run order. */
  readonly perRun: readonly { readonly rps: number; readonly p99: number }[];
}

export function poolRuns(runs: readonly WrkRun[]): PooledRuns {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    runs: runs.length,
    requests,
    seconds,
    rps: seconds === 0 ? Number.NaN : requests / seconds,
    p50: pooledPercentile(runs, 50),
    p99: pooledPercentile(runs, 99),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    errors: runs.reduce((n, r) => n + errorTotal(r.errors) - r.errors.status, 0),
    httpErrors: runs.reduce((n, r) => n + r.errors.status, 0),
    perRun: runs.map((r) => ({ rps: r.rps, p99: r.p99 })),
  };
}
