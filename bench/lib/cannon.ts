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
  return summarise(result);
}

/** The figures the scenarios use from one autocannon run. */
function summarise(result: autocannon.Result): CannonResult {
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

export interface TimelineOptions {
  /** Base URL, e.g. http://127.0.0.1:8080; `path()` is asked for every request's path. */
  readonly url: string;
  readonly path: () => string;
  readonly seconds: number;
  readonly connections: number;
  /** Per-request timeout in seconds (autocannon counts a timeout as an error). */
  readonly timeoutS?: number;
  /** Stop after this many requests (or at `seconds`, whichever comes first). */
  readonly maxRequests?: number;
}

/** Every response of a run: when it was sent (ms from the run's start), its status and latency. */
export interface Timeline {
  readonly sentAtMs: readonly number[];
  readonly status: readonly number[];
  readonly latencyMs: readonly number[];
  /** When each error (connection error, timeout) was reported, ms from the run's start. */
  readonly errorsAtMs: readonly number[];
  readonly summary: CannonResult;
}

/**
 * One autocannon run whose requests rotate over paths, recording each response; `onStart` gets
 * the run's time origin (performance.now()), so a caller can schedule faults against it.
 */
export async function cannonTimeline(options: TimelineOptions, onStart?: (origin: number) => void): Promise<Timeline> {
  const sentAtMs: number[] = [];
  const status: number[] = [];
  const latencyMs: number[] = [];
  const errorsAtMs: number[] = [];
  const origin = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        duration: options.seconds,
        connections: options.connections,
        pipelining: 1,
        timeout: options.timeoutS ?? 10,
        ...(options.maxRequests === undefined ? {} : { maxOverallRequests: options.maxRequests }),
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: options.path() }) }],
      },
      (err, res) => (err ? reject(err as Error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      const now = performance.now() - origin;
      sentAtMs.push(now - responseTime);
      status.push(statusCode);
      latencyMs.push(responseTime);
    });
    instance.on('reqError', () => errorsAtMs.push(performance.now() - origin));
    onStart?.(origin);
  });
  return {
    sentAtMs,
    status,
    latencyMs,
    errorsAtMs,
    summary: summarise(result),
  };
}
