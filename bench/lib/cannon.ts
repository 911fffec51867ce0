import autocannon from 'autocannon';

export interface CannonResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Responses received in the run (autocannon's requests.total). */
  readonly total: number;
  /** Requests written, including those still in flight when the run stopped. */
  readonly sent: number;
  readonly seconds: number;
  readonly errors: number;
  readonly non2xx: number;
}

export interface CannonOptions {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  readonly pipelining?: number;
  readonly headers?: Record<string, string>;
}

/** One autocannon run in this process; latencies in ms (autocannon's 1 ms resolution). */
export async function cannon(options: CannonOptions): Promise<CannonResult> {
  const result = await autocannon({
    url: options.url,
    duration: options.seconds,
    connections: options.connections,
    pipelining: options.pipelining ?? 1,
    timeout: 10,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    sent: result.requests.sent,
    seconds: result.duration,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/**
 * Several runs of one target combined: req/s over the summed time, p50 the median of the runs'
 * p50s, p99 the worst run's p99 (autocannon exposes percentiles, not the histogram).
 */
export function combine(runs: readonly CannonResult[]): CannonResult {
  const sum = (pick: (r: CannonResult) => number) => runs.reduce((n, r) => n + pick(r), 0);
  const p50s = runs.map((r) => r.p50).sort((a, b) => a - b);
  const total = sum((r) => r.total);
  const seconds = sum((r) => r.seconds);
  return {
    rps: total / seconds,
    p50: p50s[Math.floor((p50s.length - 1) / 2)]!,
    p99: Math.max(...runs.map((r) => r.p99)),
    total,
    sent: sum((r) => r.sent),
    seconds,
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
  };
}
