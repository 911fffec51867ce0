import t from 'tap';
import { parseWrkSummary, pooledPercentile, poolRuns, type WrkRun } from '../../../bench/lib/wrk-summary.js';

/** A summary as bench/lib/wrk-summary.lua writes it; `latency(p)` gives the grid values in µs. */
function summary(requests: number, latency: (p: number) => number, overrides: Record<string, unknown> = {}): string {
  const grid = [...Array.from({ length: 99 }, (_, i) => i + 1), 99.1, 99.2, 99.3, 99.4, 99.5, 99.6, 99.7, 99.8, 99.9, 99.95, 99.99, 100];
  return JSON.stringify({
    requests,
    durationUs: 2_000_000,
    bytes: requests * 2200,
    errors: { connect: 0, read: 1, write: 0, status: 3, timeout: 2 },
    latencyUs: { min: latency(0), mean: latency(50), max: latency(100), p50: latency(50), p99: latency(99) },
    quantiles: grid.map((p) => [p, latency(p)]),
    ...overrides,
  });
}

t.test('parseWrkSummary', async (t) => {
  t.test('reads counts, req/s and latencies in ms', async (t) => {
    const run = parseWrkSummary(`${summary(10_000, (p) => 1000 + p * 10)}\n`);
    t.equal(run.requests, 10_000);
    t.equal(run.seconds, 2);
    t.equal(run.rps, 5000);
    t.same(run.errors, { connect: 0, read: 1, write: 0, status: 3, timeout: 2 });
    t.equal(run.p50, 1.5);
    t.equal(run.p99, 1.99);
    t.equal(run.maxMs, 2);
    t.equal(run.quantiles.length, 111);
    t.same(run.quantiles[0], [1, 1.01]);
  });

  t.test('req/s leaves out the pause before the first requests', async (t) => {
    const run = parseWrkSummary(summary(9_000, () => 1000, { startDelayUs: 200_000 }));
    t.equal(run.seconds, 1.8);
    t.equal(run.rps, 5000);
  });

  t.test('refuses what is not the script output, naming the field', async (t) => {
    t.throws(() => parseWrkSummary('Running 2s test @ http://127.0.0.1'), /not JSON/);
    t.throws(() => parseWrkSummary('[]'), /quantiles missing|requests/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { requests: -1 })), /requests is not a count/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { durationUs: 0 })), /durationUs 0 is not beyond/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { startDelayUs: 2_000_000 })), /not beyond the start delay/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { startDelayUs: -5 })), /startDelayUs is not a count/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { errors: { connect: 0 } })), /errors\.read/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { quantiles: [] })), /quantiles missing/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { quantiles: [[50, 1], [40, 2]] })), /not ascending/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { quantiles: [[50, 1, 2]] })), /quantiles\[0\]/);
    t.throws(() => parseWrkSummary(summary(10, () => 1, { quantiles: [[150, 1]] })), /> 100/);
  });
});

t.test('pooledPercentile', async (t) => {
  const flat = (requests: number, us: number): WrkRun => parseWrkSummary(summary(requests, () => us));
  const ramp = parseWrkSummary(summary(1000, (p) => p * 100));

  t.test('one run gives back its own grid values', async (t) => {
    t.equal(pooledPercentile([ramp], 50), 5);
    t.equal(pooledPercentile([ramp], 99), 9.9);
    t.equal(pooledPercentile([ramp], 100), 10);
  });

  t.test('identical runs pool to the same figures', async (t) => {
    t.equal(pooledPercentile([ramp, ramp, ramp], 50), 5);
    t.equal(pooledPercentile([ramp, ramp, ramp], 99), 9.9);
  });

  t.test('runs weigh by their request counts', async (t) => {
    // 99 % of the requests at 1 ms, 1 % at 100 ms: p50 1 ms, p99 still 1 ms, p99.5 100 ms.
    const runs = [flat(9900, 1000), flat(100, 100_000)];
    t.equal(pooledPercentile(runs, 50), 1);
    t.equal(pooledPercentile(runs, 99), 1);
    t.equal(pooledPercentile(runs, 99.5), 100);
    // Even counts: the slow half decides p99.
    t.equal(pooledPercentile([flat(500, 1000), flat(500, 100_000)], 99), 100);
  });

  t.test('no requests: NaN', async (t) => {
    t.ok(Number.isNaN(pooledPercentile([flat(0, 1000)], 50)));
    t.ok(Number.isNaN(pooledPercentile([], 50)));
  });
});

t.test('poolRuns sums requests, time and errors, keeping status errors apart', async (t) => {
  const a = parseWrkSummary(summary(10_000, (p) => 1000 + p));
  const b = parseWrkSummary(summary(30_000, (p) => 1000 + p));
  const pooled = poolRuns([a, b]);
  t.equal(pooled.runs, 2);
  t.equal(pooled.requests, 40_000);
  t.equal(pooled.seconds, 4);
  t.equal(pooled.rps, 10_000);
  t.equal(pooled.errors, 6);
  t.equal(pooled.httpErrors, 6);
  t.same(pooled.perRun.map((r) => r.rps), [5000, 15_000]);
});
