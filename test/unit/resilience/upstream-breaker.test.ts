import t from 'tap';
import { UpstreamBreaker, type BreakerStateChange, type UpstreamBreakerOptions } from '../../../src/resilience/upstream-breaker.js';
import { fakeClock } from '../../helpers/clock.js';

function breaker(options: UpstreamBreakerOptions = {}) {
  const clock = fakeClock();
  const changes: BreakerStateChange[] = [];
  const b = new UpstreamBreaker({ minimumCalls: 20, failureRate: 0.5, windowMs: 10_000, bucketMs: 1_000, openMs: 5_000, halfOpenProbes: 3, clock, onStateChange: (c) => changes.push(c), ...options });
  return { clock, changes, breaker: b };
}

/** Records `failures` failures and `successes` successes, interleaved. */
function feed(b: UpstreamBreaker, failures: number, successes: number): void {
  for (let i = 0; i < Math.max(failures, successes); i++) {
    if (i < successes) b.success();
    if (i < failures) b.failure();
  }
}

t.test('never opens below minimumCalls, even at 100% failures', async (t) => {
  const { breaker: b } = breaker();
  feed(b, 19, 0);
  t.equal(b.state, 'closed');
  t.ok(b.allow());
  b.failure();
  t.equal(b.state, 'open', 'the 20th call, all failed');
});

t.test('opens when the failure share reaches the rate, not below', async (t) => {
  const below = breaker().breaker;
  feed(below, 9, 11); // 45%
  t.equal(below.state, 'closed');
  t.match(below.stats(), { calls: 20, failures: 9, failureRate: 0.45 });

  const { breaker: b, changes } = breaker();
  feed(b, 9, 11);
  b.failure(); // 10 of 21 = 47.6%
  t.equal(b.state, 'closed');
  b.failure(); // 11 of 22 = 50%
  t.equal(b.state, 'open');
  t.same(changes.map((c) => [c.from, c.to, c.calls, c.failures]), [['closed', 'open', 22, 11]], 'the evidence comes with the change');
});

t.test('a success never opens it; only a failure triggers the check', async (t) => {
  const { breaker: b } = breaker({ minimumCalls: 4 });
  b.failure();
  b.failure();
  b.failure();
  t.equal(b.state, 'closed', 'only 3 calls');
  b.success(); // 3 of 4 failed, but successes do not evaluate
  t.equal(b.state, 'closed');
  b.failure();
  t.equal(b.state, 'open');
});

t.test('the window slides: outcomes older than windowMs no longer count', async (t) => {
  const { clock, breaker: b } = breaker();
  feed(b, 15, 0);
  clock.advance(10_000);
  t.match(b.stats(), { calls: 0, failures: 0 }, 'the 10 buckets have rolled over');
  feed(b, 5, 14);
  t.equal(b.state, 'closed', '5 of 19 recent calls failed; the old 15 are gone');

  const second = breaker();
  feed(second.breaker, 10, 0);
  second.clock.advance(5_000);
  feed(second.breaker, 0, 9);
  second.breaker.failure(); // 11 of 20 within the window
  t.equal(second.breaker.state, 'open', 'failures 5 s ago still count');
});

t.test('the window is bucketed: memory does not grow with traffic', async (t) => {
  const { clock, breaker: b } = breaker({ minimumCalls: 1_000_000 });
  for (let second = 0; second < 100; second++) {
    for (let i = 0; i < 1_000; i++) b.success();
    for (let i = 0; i < 10; i++) b.failure();
    clock.advance(1_000);
  }
  // The last 10 buckets hold 10 s of traffic: the current one is empty, 9 full ones before it.
  t.match(b.stats(), { calls: 9 * 1_010, failures: 90 });
});

t.test('open: refuses everything for openMs, then half-opens with N probes', async (t) => {
  const { clock, breaker: b, changes } = breaker();
  feed(b, 20, 0);
  t.equal(b.state, 'open');
  t.notOk(b.allow());
  t.notOk(b.allow());
  t.match(b.stats(), { state: 'open', rejected: 2, opens: 1, halfOpenAt: clock.now() + 5_000 });
  clock.advance(4_999);
  t.notOk(b.allow());
  clock.advance(1);
  t.equal(b.state, 'half_open');
  t.ok(b.allow(), 'probe 1');
  t.ok(b.allow(), 'probe 2');
  t.ok(b.allow(), 'probe 3');
  t.notOk(b.allow(), 'no fourth probe');
  b.success();
  b.success();
  t.equal(b.state, 'half_open', 'two of three probes succeeded');
  b.success();
  t.equal(b.state, 'closed', 'all probes succeeded');
  t.match(b.stats(), { calls: 0, failures: 0 }, 'closed with an empty window');
  t.same(changes.map((c) => `${c.from}>${c.to}`), ['closed>open', 'open>half_open', 'half_open>closed']);
  feed(b, 19, 0);
  t.equal(b.state, 'closed', 'the old failures are not held against it');
});

t.test('a failed probe re-opens it for a fresh cool-down', async (t) => {
  const { clock, breaker: b, changes } = breaker();
  feed(b, 20, 0);
  clock.advance(5_000);
  t.ok(b.allow());
  t.ok(b.allow());
  b.success();
  clock.advance(1_234);
  b.failure();
  t.equal(b.state, 'open');
  t.equal(b.stats().opens, 2);
  t.equal(b.stats().halfOpenAt, clock.now() + 5_000, 'cool-down measured from the failed probe');
  b.success(); // the other probe, answering late: ignored while open
  t.equal(b.state, 'open');
  clock.advance(5_000);
  t.equal(b.state, 'half_open');
  t.same(changes.map((c) => `${c.from}>${c.to}`), ['closed>open', 'open>half_open', 'half_open>open', 'open>half_open']);
});

t.test('outcomes reported while open are ignored', async (t) => {
  const { clock, breaker: b } = breaker();
  feed(b, 20, 0);
  feed(b, 50, 50);
  clock.advance(5_000);
  t.equal(b.state, 'half_open');
  b.failure(); // no probe outstanding: a call from before, not a probe
  t.equal(b.state, 'half_open');
});

t.test('release() hands a probe permit back; a lost probe is given up after openMs', async (t) => {
  const { clock, breaker: b } = breaker({ halfOpenProbes: 1 });
  feed(b, 20, 0);
  clock.advance(5_000);
  t.ok(b.allow());
  t.notOk(b.allow());
  b.release();
  t.ok(b.allow(), 'the permit came back');
  clock.advance(4_999);
  t.notOk(b.allow(), 'the probe is still out');
  clock.advance(1);
  t.ok(b.allow(), 'the lost probe was given up');
  b.success();
  t.equal(b.state, 'closed');
  b.release();
  t.equal(b.state, 'closed', 'release while closed changes nothing');
});

t.test('trip() opens at once', async (t) => {
  const { breaker: b, changes } = breaker();
  b.trip();
  t.equal(b.state, 'open');
  t.notOk(b.allow());
  t.equal(changes.length, 1);
});

t.test('defaults and validation', async (t) => {
  const b = new UpstreamBreaker();
  t.equal(b.state, 'closed');
  for (const [options, name] of [
    [{ windowMs: 0 }, 'windowMs'],
    [{ bucketMs: -1 }, 'bucketMs'],
    [{ bucketMs: 20_000 }, 'bucketMs'],
    [{ minimumCalls: 0 }, 'minimumCalls'],
    [{ failureRate: 0 }, 'failureRate'],
    [{ failureRate: 1.5 }, 'failureRate'],
    [{ openMs: Number.NaN }, 'openMs'],
    [{ halfOpenProbes: 0.5 }, 'halfOpenProbes'],
  ] as const) {
    t.throws(() => new UpstreamBreaker(options), new RegExp(name), `rejects ${JSON.stringify(options)}`);
  }
});
