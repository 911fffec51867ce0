import t from 'tap';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { GuardedTier } from '../../../src/cache/guarded-tier.js';
import { WriteQueue } from '../../../src/cache/write-queue.js';
import { ChaosTier } from '../../helpers/chaos-tier.js';
import { fakeClock } from '../../helpers/clock.js';
import { captureLog } from '../../helpers/log.js';
import { testEntry } from '../../helpers/tier-contract.js';

function guarded(options: { readTimeoutMs?: number; threshold?: number; ready?: () => boolean } = {}) {
  const clock = fakeClock();
  const inner = new ChaosTier();
  const log = captureLog();
  const tier = new GuardedTier(inner, {
    readTimeoutMs: options.readTimeoutMs ?? 30,
    breaker: new CircuitBreaker({ failureThreshold: options.threshold ?? 3, cooldownMs: 1000 }, clock.now),
    queue: new WriteQueue({ capacity: 100, concurrency: 4 }),
    log,
    isReady: options.ready,
    now: clock.now,
  });
  return { tier, inner, clock, warnings: log.lines };
}

t.test('a failing read is a miss, never an error, and is logged once per 10 s', async (t) => {
  const { tier, inner, warnings, clock } = guarded({ threshold: 100 });
  inner.mode = 'fail';
  for (let i = 0; i < 5; i++) t.equal(await tier.get('k'), undefined);
  t.equal(tier.counters.errors, 5);
  t.equal(warnings.length, 1);
  clock.advance(10_000);
  await tier.get('k');
  t.equal(warnings.length, 2);
  t.equal(tier.health(), 'degraded', 'recent errors with a closed breaker: degraded');
});

t.test('a hanging read is bounded by the read timeout', async (t) => {
  const { tier, inner } = guarded({ readTimeoutMs: 40 });
  inner.mode = 'hang';
  const started = Date.now();
  t.equal(await tier.get('k'), undefined);
  t.ok(Date.now() - started < 400);
  t.equal(tier.counters.timeouts, 1);
});

t.test('the breaker opens after repeated failures, skips the tier, then probes and recovers', async (t) => {
  const { tier, inner, clock } = guarded({ threshold: 3 });
  const entry = testEntry(clock.now(), { key: 'k' });
  inner.entries.set('k', entry);
  inner.mode = 'fail';
  for (let i = 0; i < 3; i++) await tier.get('k');
  t.equal(tier.health(), 'down');
  const callsWhileOpen = inner.calls;
  t.equal(await tier.get('k'), undefined);
  t.equal(inner.calls, callsWhileOpen, 'an open breaker does not touch the tier');
  t.equal(tier.counters.skipped, 1);

  inner.mode = 'ok';
  clock.advance(1000);
  t.equal(tier.health(), 'degraded', 'half-open');
  t.same(await tier.get('k'), entry, 'the probe succeeds');
  t.equal(tier.breakerState, 'closed');
});

t.test('writes go through the queue; an open breaker skips them without waiting', async (t) => {
  const { tier, inner, clock } = guarded({ threshold: 1 });
  const entry = testEntry(clock.now(), { key: 'w' });
  t.equal(await tier.write(entry), true);
  t.ok(inner.entries.has('w'));
  inner.mode = 'fail';
  t.equal(await tier.write(entry), false);
  t.equal(tier.breakerState, 'open');
  t.equal(await tier.write(entry), false);
  t.equal(tier.counters.skippedWrites, 1);
});

t.test('a tier that is not ready is reported down and never called', async (t) => {
  let ready = false;
  const { tier, inner } = guarded({ ready: () => ready });
  t.equal(tier.health(), 'down');
  t.equal(await tier.get('k'), undefined);
  t.equal(inner.calls, 0);
  ready = true;
  t.equal(tier.health(), 'up');
});
