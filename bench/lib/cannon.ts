import autocannon from 'autocannon';

export interface CannonResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  readonly errors: number;
  readonly non2xx: number;
}

export interface CannonOptions {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  readonly pipelining?: number;
}

/** One autocannon run in this process; latencies in ms, rps the mean of per-second samples. */
export async function cannon(options: CannonOptions): Promise<CannonResult> {
  const result = await autocannon({
    url: options.url,
    duration: options.seconds,
    connections: options.connections,
    pipelining: options.pipelining ?? 1,
    timeout: 10,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}
