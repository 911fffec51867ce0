import t from 'tap';
import { PROTECTION_DEFAULTS, type UpstreamProtectionConfig } from '../../../src/config/protection.js';
import { ResilienceError } from '../../../src/resilience/errors.js';
import { UpstreamGuard, type Permit } from '../../../src/resilience/upstream-guard.js';
import type { BreakerStateChange } from '../../../src/resilience/upstream-breaker.js';
import { fakeClock, flush, track } from '../../helpers/clock.js';

function guard(overrides: Partial<UpstreamProtectionConfig> = {}) {
  const clock = fakeClock();
  const changes: BreakerStateChange[] = [];
  const protection: UpstreamProtectionConfig = {
    ...PROTECTION_DEFAULTS,
    concurrency: { initial: 2, min: 2, max: 2, latencyTolerance: 2 },
    maxQueue: 2,
    queueTimeoutMs: 1_000,
    breaker: { ...PROTECTION_DEFAULTS.breaker, minimumCalls: 4, openMs: 5_000, halfOpenProbes: 1 },
    retryAfterMaxMs: 60_000,
    retryAfterDefaultMs: 10_000,
    ...overrides,
  };
  return { clock, changes, guard: new UpstreamGuard({ protection, clock, onBreakerStateChange: (c) => changes.push(c) }) };
}

async function call(g: UpstreamGuard, status: number, headers: Record<string, string> = {}, body?: string): Promise<string | null> {
  const permit = await g.admit({ wait: true });
  const kind = permit.response(status, headers, body);
  permit.release();
  return kind;
}

t.test('a healthy call: admitted, judged a success, slot released', async (t) => {
  const { guard: g } = guard();
  t.equal(await call(g, 200), null);
  t.equal(await call(g, 404), null, 'a 404 is an answer');
  t.match(g.stats(), { breaker: { state: 'closed', calls: 2, failures: 0 }, concurrency: { inFlight: 0, acquired: 2 }, pausedForMs: 0 });
});

t.test('5xx count against the breaker; when it opens, calls fail fast with upstream_circuit_open', async (t) => {
  const { clock, guard: g, changes } = guard();
  for (let i = 0; i < 4; i++) t.equal(await call(g, 503), 'server_error');
  t.equal(g.breaker.state, 'open');
  const err = await g.admit({ wait: true }).catch((e: unknown) => e);
  t.ok(err instanceof ResilienceError);
  t.match(err, { code: 'upstream_circuit_open', status: 503, retryAfterMs: 5_000 });
  clock.advance(5_000);
  const probe = await g.admit({ wait: false });
  await t.rejects(g.admit({ wait: true }), { code: 'upstream_circuit_open' }, 'one probe at a time');
  probe.response(200, {});
  probe.release();
  t.equal(g.breaker.state, 'closed');
  t.same(changes.map((c) => c.to), ['open', 'half_open', 'closed']);
});

t.test('a 429 pauses the upstream for Retry-After without counting as a breaker failure', async (t) => {
  const { clock, guard: g } = guard();
  t.equal(await call(g, 429, { 'retry-after': '7' }), 'rate_limited');
  const err = await g.admit({ wait: true }).catch((e: unknown) => e);
  t.match(err, { code: 'upstream_throttled', status: 503, retryAfterMs: 7_000 });
  t.match(g.stats(), { pausedForMs: 7_000, breaker: { calls: 0 }, concurrency: { inFlight: 0 } });
  clock.advance(7_000);
  t.equal(await call(g, 200), null, 'calls resume after it');
});

t.test("Salesforce's request-limit 403 pauses for the default; a 503 + Retry-After pauses too", async (t) => {
  const { clock, guard: g } = guard();
  const body = JSON.stringify([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  t.equal(await call(g, 403, { 'content-type': 'application/json' }, body), 'request_limit_exceeded');
  t.equal(g.gate.blockedFor(), 10_000);
  clock.advance(10_000);
  t.equal(await call(g, 503, { 'retry-after': '999' }), 'server_error');
  t.equal(g.gate.blockedFor(), 60_000, 'clamped to retryAfterMaxMs');
  t.equal(g.breaker.stats().failures, 1, 'and the 503 is a breaker failure');
});

t.test('wait: false refuses at once with upstream_saturated/busy when no slot is free', async (t) => {
  const { guard: g } = guard();
  const a = await g.admit({ wait: false });
  const b = await g.admit({ wait: false });
  await t.rejects(g.admit({ wait: false }), { code: 'upstream_saturated', reason: 'busy' });
  a.release();
  b.release();
});

t.test('wait: true queues, then times out with queue_timeout, or is refused when the queue is full', async (t) => {
  const { clock, guard: g } = guard();
  const held = [await g.admit({ wait: true }), await g.admit({ wait: true })];
  const q1 = track(g.admit({ wait: true }));
  const q2 = track(g.admit({ wait: true }));
  await t.rejects(g.admit({ wait: true }), { code: 'upstream_saturated', reason: 'queue_full' });
  held[0]!.release();
  await flush();
  t.equal(q1.state, 'resolved');
  clock.advance(1_000);
  await flush();
  t.equal(q2.state, 'rejected');
  t.match(q2.error, { code: 'upstream_saturated', reason: 'queue_timeout' });
  held[1]!.release();
  (q1.value as Permit).release();
  t.match(g.stats().concurrency, { inFlight: 0, queued: 0 });
});

t.test('a call that waited in the queue re-checks the Retry-After gate', async (t) => {
  const { guard: g } = guard({ concurrency: { initial: 1, min: 1, max: 1, latencyTolerance: 2 } });
  const first = await g.admit({ wait: true });
  const waiting = track(g.admit({ wait: true }));
  first.response(429, { 'retry-after': '3' });
  first.release();
  await flush();
  t.equal(waiting.state, 'rejected');
  t.match(waiting.error, { code: 'upstream_throttled' });
  t.match(g.stats().concurrency, { inFlight: 0, queued: 0 }, 'its slot went back');
});

t.test('a half-open probe refused by the limiter gives its permit back', async (t) => {
  const { clock, guard: g } = guard({ concurrency: { initial: 1, min: 1, max: 1, latencyTolerance: 2 } });
  for (let i = 0; i < 4; i++) await call(g, 500);
  clock.advance(5_000);
  g.limiter.tryAcquire(); // someone else holds the only slot
  await t.rejects(g.admit({ wait: false }), { code: 'upstream_saturated' });
  t.ok(g.breaker.allow(), 'the probe permit is still available');
});

t.test('failure(), release() without a verdict, and idempotent release', async (t) => {
  const { guard: g } = guard();
  const failed = await g.admit({ wait: true });
  failed.failure();
  failed.failure();
  failed.response(200, {});
  failed.release();
  failed.release();
  const abandoned = await g.admit({ wait: true });
  abandoned.release();
  t.match(g.stats(), { breaker: { calls: 1, failures: 1 }, concurrency: { inFlight: 0, acquired: 2 } }, 'one verdict per permit; none for the abandoned call');
});

t.test('each call teaches the adaptive limit: round trips to the headers grow it, a slowdown and failures shrink it', async (t) => {
  const { clock, guard: g } = guard({ concurrency: { initial: 4, min: 1, max: 8, latencyTolerance: 2 } });
  /** Calls, four at a time (every slot in use), each answered `rttMs` after admission. */
  const round = async (rttMs: number, answer: (p: Permit) => void = (p) => p.response(200, {})) => {
    const permits = await Promise.all(Array.from({ length: g.limit.current }, () => g.admit({ wait: false })));
    clock.advance(rttMs);
    for (const p of permits) {
      answer(p);
      p.release();
    }
  };
  for (let i = 0; i < 20; i++) await round(100);
  const grown = g.limit.current;
  t.ok(grown > 4, `healthy, saturated windows grow it (4 -> ${grown})`);
  t.equal(g.stats().concurrency.limit, grown, 'shown in the guard stats');
  t.equal(g.limit.stats().baselineRttMs, 100, 'the round trip runs from admission to the response headers');

  for (let i = 0; i < 3; i++) await round(1_000);
  const slowed = g.limit.current;
  t.ok(slowed <= grown / 2, `ten times slower: at least halved (${grown} -> ${slowed})`);

  clock.advance(1_000);
  for (let i = 0; i < 5; i++) await round(10, (p) => p.failure());
  const failed = g.limit.current;
  t.ok(failed < slowed, `a window of failures shrinks it (${slowed} -> ${failed})`);
  t.equal(g.breaker.state, 'closed', 'too few failures in the breaker window to open it');

  const before = g.limit.stats();
  const abandoned = await g.admit({ wait: true });
  clock.advance(60_000);
  abandoned.release();
  t.same(g.limit.stats(), before, 'a call without a verdict teaches nothing');
});
