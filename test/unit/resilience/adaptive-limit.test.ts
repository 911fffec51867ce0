import t from 'tap';
import { AdaptiveLimit, MIN_SAMPLES, WINDOW_MS, type AdaptiveLimitOptions } from '../../../src/resilience/adaptive-limit.js';
import { fakeClock, type FakeClock } from '../../helpers/clock.js';

function adaptive(options: Partial<AdaptiveLimitOptions> = {}) {
  const clock = fakeClock();
  return { clock, limit: new AdaptiveLimit({ initial: 10, min: 2, max: 50, latencyTolerance: 2, clock, ...options }) };
}

interface WindowShape {
  rttMs: number;
  /** Calls in flight when each started; default: the limit (saturated). */
  inFlight?: number;
  samples?: number;
  drops?: number;
}

/** One judged window: its samples, the last of them after WINDOW_MS. Returns the limit after it. */
function window(limit: AdaptiveLimit, clock: FakeClock, shape: WindowShape): number {
  const samples = shape.samples ?? MIN_SAMPLES;
  const drops = shape.drops ?? 0;
  for (let i = 0; i < samples; i++) {
    if (i === samples - 1) clock.advance(WINDOW_MS);
    limit.sample({ rttMs: shape.rttMs, dropped: i < drops, inFlight: shape.inFlight ?? limit.current });
  }
  return limit.current;
}

function windows(limit: AdaptiveLimit, clock: FakeClock, count: number, shape: WindowShape): number[] {
  return Array.from({ length: count }, () => window(limit, clock, shape));
}

t.test('grows while latency holds and the limit is in use: doubling until the first cut, then by about sqrt(limit) a window, up to max', async (t) => {
  const { clock, limit } = adaptive();
  t.equal(limit.current, 10, 'starts at initial');
  t.same(windows(limit, clock, 3, { rttMs: 300 }), [20, 40, 50], 'slow start: x 2 a window, capped at max');
  t.equal(limit.stats().baselineRttMs, 300);
  t.equal(window(limit, clock, { rttMs: 900 }), 33, 'a slow window cuts (50 x 600/900) and ends slow start');
  const later = windows(limit, clock, 4, { rttMs: 300 });
  t.same(later, [39, 45, 50, 50], '33.3 + 5.77, + 6.25, + 6.7 (capped at max)');
  t.equal(limit.stats().increases, 6);
});

t.test('a failing window ends slow start too', async (t) => {
  const { clock, limit } = adaptive();
  t.equal(window(limit, clock, { rttMs: 300 }), 20);
  t.equal(window(limit, clock, { rttMs: 300, drops: 1 }), 18, 'x 0.9');
  t.equal(window(limit, clock, { rttMs: 300 }), 22, '18 + sqrt(18), no longer doubling');
});

t.test('does not grow when under-used: in-flight never reached the limit', async (t) => {
  const { clock, limit } = adaptive();
  t.same(windows(limit, clock, 10, { rttMs: 300, inFlight: 9 }), Array(10).fill(10));
  t.equal(limit.stats().increases, 0);
  t.equal(window(limit, clock, { rttMs: 300, inFlight: 10 }), 20, 'grows once a window used every slot');
});

t.test('a window is judged once it spans WINDOW_MS and holds MIN_SAMPLES, on the next sample or read', async (t) => {
  const { clock, limit } = adaptive();
  for (let i = 0; i < 100; i++) limit.sample({ rttMs: 300, dropped: false, inFlight: 10 });
  t.equal(limit.current, 10, 'many samples, no time: unchanged');
  clock.advance(WINDOW_MS);
  t.equal(limit.current, 20, 'judged when the limit is read after WINDOW_MS, without waiting for another call');
  clock.advance(10 * WINDOW_MS);
  for (let i = 0; i < MIN_SAMPLES - 1; i++) limit.sample({ rttMs: 300, dropped: false, inFlight: 20 });
  t.equal(limit.current, 20, 'time, but too few samples: unchanged');
  limit.sample({ rttMs: 300, dropped: false, inFlight: 20 });
  t.equal(limit.current, 40, 'judged at the MIN_SAMPLES-th');
});

t.test('shrinks when latency rises past the tolerance, more the further past', async (t) => {
  const { clock, limit } = adaptive({ initial: 1_000, max: 2_000 });
  window(limit, clock, { rttMs: 100, inFlight: 1 });
  t.equal(limit.stats().baselineRttMs, 100);
  const times = (k: number) => k * limit.stats().baselineRttMs!;
  t.equal(window(limit, clock, { rttMs: times(2.1) }), 900, 'just past 2 x baseline: x 0.9, the smallest cut');
  t.equal(window(limit, clock, { rttMs: times(2.5) }), 720, '2.5 x baseline: x 0.8 (2 / 2.5)');
  t.equal(window(limit, clock, { rttMs: times(10) }), 360, 'tenfold: x 0.5, the deepest cut');
  t.equal(window(limit, clock, { rttMs: times(1.9) }), 378, 'back within the tolerance: grows by sqrt(360)');
  t.match(limit.stats(), { decreases: 3, increases: 1 });
});

t.test('shrinks by x 0.9 when at least 5 % of a window failed; a trickle of failures does not', async (t) => {
  const { clock, limit } = adaptive({ initial: 40 });
  t.equal(window(limit, clock, { rttMs: 100, samples: 10, drops: 1 }), 36, '1 in 10 failed');
  t.equal(window(limit, clock, { rttMs: 100, samples: 10, drops: 10 }), 32, 'all failed (no round trip at all)');
  t.equal(window(limit, clock, { rttMs: 100, samples: 100, drops: 1 }), 38, '1 in 100 is a trickle: grows by sqrt(32.4)');
});

t.test('bounded by min and max', async (t) => {
  const { clock, limit } = adaptive();
  t.same(windows(limit, clock, 20, { rttMs: 100, drops: MIN_SAMPLES }).at(-1), 2, 'down to min');
  t.same(windows(limit, clock, 40, { rttMs: 100 }).at(-1), 50, 'up to max');
});

t.test('the baseline falls fast and rises slowly: a lasting slowdown becomes the new normal after a while', async (t) => {
  const { clock, limit } = adaptive({ initial: 40 });
  window(limit, clock, { rttMs: 100, inFlight: 1 });
  window(limit, clock, { rttMs: 40, inFlight: 1 });
  t.equal(limit.stats().baselineRttMs, 70, 'half way down to a faster window at once');
  window(limit, clock, { rttMs: 100, inFlight: 1 });
  t.ok(limit.stats().baselineRttMs! < 71, 'a 100 ms window moves it up by 1/60 of the gap only');

  const seen = windows(limit, clock, 60, { rttMs: 300 });
  t.ok(seen[0]! < 40 && seen[10]! < seen[0]!, `shrinks while 300 ms is over twice the baseline (${seen.slice(0, 12).join(', ')})`);
  t.ok(seen.at(-1)! > Math.min(...seen), `then grows again at 300 ms (${seen.slice(-5).join(', ')})`);
  t.ok(limit.stats().baselineRttMs! > 150, `baseline ${limit.stats().baselineRttMs!.toFixed(0)} ms`);
});

t.test('a fixed limit (min = max) never moves', async (t) => {
  const { clock, limit } = adaptive({ initial: 8, min: 8, max: 8 });
  windows(limit, clock, 5, { rttMs: 100 });
  windows(limit, clock, 5, { rttMs: 100, drops: MIN_SAMPLES });
  t.equal(limit.current, 8);
  t.equal(AdaptiveLimit.fixed(3).current, 3);
});

t.test('constructor rejects bad options naming them', async (t) => {
  const ok = { initial: 4, min: 2, max: 8, latencyTolerance: 2 };
  t.throws(() => new AdaptiveLimit({ ...ok, min: 0 }), /min must be an integer >= 1/);
  t.throws(() => new AdaptiveLimit({ ...ok, max: 1 }), /max must be an integer >= 2/);
  t.throws(() => new AdaptiveLimit({ ...ok, initial: 1 }), /initial must be an integer >= 2/);
  t.throws(() => new AdaptiveLimit({ ...ok, initial: 9 }), /initial must be <= max \(8\)/);
  t.throws(() => new AdaptiveLimit({ ...ok, initial: 2.5 }), /initial/);
  t.throws(() => new AdaptiveLimit({ ...ok, latencyTolerance: 1 }), /latencyTolerance must be a number above 1/);
});
