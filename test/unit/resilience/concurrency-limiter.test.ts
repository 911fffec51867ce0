import t from 'tap';
import { AdaptiveLimit, MIN_SAMPLES, WINDOW_MS } from '../../../src/resilience/adaptive-limit.js';
import { ConcurrencyLimiter, type Release } from '../../../src/resilience/concurrency-limiter.js';
import { SaturatedError } from '../../../src/resilience/errors.js';
import { fakeClock, flush, track } from '../../helpers/clock.js';

function limiter(limit: number, maxQueue: number, queueTimeoutMs = 1_000) {
  const clock = fakeClock();
  return { clock, limiter: new ConcurrencyLimiter({ limit, maxQueue, queueTimeoutMs, clock }) };
}

t.test('hands out slots up to the limit at once; tryAcquire refuses beyond', async (t) => {
  const { limiter: l } = limiter(2, 5);
  const a = await l.acquire();
  const b = l.tryAcquire();
  t.type(b, 'function');
  t.equal(l.tryAcquire(), null, 'no third slot');
  t.match(l.stats(), { inFlight: 2, queued: 0, acquired: 2, rejected: 0 });
  a();
  t.equal(l.stats().inFlight, 1);
  b!();
  t.equal(l.stats().inFlight, 0);
});

t.test('waiters get slots in FIFO order as slots are released', async (t) => {
  const { limiter: l } = limiter(1, 10);
  const first = await l.acquire();
  const order: number[] = [];
  const releases: Release[] = [];
  const waiters = [1, 2, 3].map((n) =>
    l.acquire().then((release) => {
      order.push(n);
      releases.push(release);
    }),
  );
  await flush();
  t.equal(l.stats().queued, 3);
  t.same(order, []);
  first();
  await flush();
  t.same(order, [1], 'the oldest waiter first');
  t.match(l.stats(), { inFlight: 1, queued: 2 });
  releases[0]!();
  await flush();
  releases[1]!();
  await Promise.all(waiters);
  t.same(order, [1, 2, 3]);
  releases[2]!();
  t.match(l.stats(), { inFlight: 0, queued: 0, acquired: 4 });
});

t.test('a full queue rejects at once with queue_full', async (t) => {
  const { limiter: l } = limiter(1, 2);
  await l.acquire();
  const queued = [track(l.acquire()), track(l.acquire())];
  const err = await l.acquire().catch((e: unknown) => e);
  t.ok(err instanceof SaturatedError);
  t.match(err, { code: 'upstream_saturated', reason: 'queue_full', status: 503 });
  await flush();
  t.same(queued.map((q) => q.state), ['pending', 'pending'], 'earlier waiters unaffected');
  t.match(l.stats(), { queued: 2, rejected: 1, queueFull: 1, queueTimeout: 0 });
});

t.test('maxQueue 0 never waits', async (t) => {
  const { limiter: l } = limiter(1, 0);
  await l.acquire();
  await t.rejects(l.acquire(), { code: 'upstream_saturated', reason: 'queue_full' });
});

t.test('a waiter is refused with queue_timeout after queueTimeoutMs and leaves the queue', async (t) => {
  const { clock, limiter: l } = limiter(1, 5, 1_000);
  const held = await l.acquire();
  const early = track(l.acquire());
  clock.advance(400);
  const late = track(l.acquire());
  clock.advance(599);
  await flush();
  t.equal(early.state, 'pending', 'not before the timeout');
  clock.advance(1);
  await flush();
  t.equal(early.state, 'rejected');
  t.match(early.error, { code: 'upstream_saturated', reason: 'queue_timeout' });
  t.equal(late.state, 'pending', 'a later waiter has its own deadline');
  t.match(l.stats(), { queued: 1, queueTimeout: 1, rejected: 1 });
  held();
  await flush();
  t.equal(late.state, 'resolved', 'the freed slot skips the timed-out waiter');
  t.equal(clock.pending(), 0, 'its timer was cancelled');
  (late.value as Release)();
  t.match(l.stats(), { inFlight: 0, queued: 0 });
});

t.test('releasing twice is a no-op', async (t) => {
  const { limiter: l } = limiter(1, 5);
  const release = await l.acquire();
  const w1 = track(l.acquire());
  const w2 = track(l.acquire());
  release();
  release();
  await flush();
  t.equal(w1.state, 'resolved');
  t.equal(w2.state, 'pending', 'the second release did not hand out another slot');
  t.match(l.stats(), { inFlight: 1, queued: 1 });
  (w1.value as Release)();
  (w1.value as Release)();
  await flush();
  (w2.value as Release)();
  (w2.value as Release)();
  t.match(l.stats(), { inFlight: 0, queued: 0 });
  t.ok(l.tryAcquire() !== null && l.tryAcquire() === null, 'exactly the limit again');
});

t.test('an aborted waiter leaves the queue with the abort reason', async (t) => {
  const { clock, limiter: l } = limiter(1, 5);
  const held = await l.acquire();
  const controller = new AbortController();
  const order: string[] = [];
  const a = l.acquire().then((r) => (order.push('a'), r));
  const b = track(l.acquire(controller.signal));
  const c = l.acquire().then((r) => (order.push('c'), r));
  await flush();
  controller.abort(new Error('client went away'));
  await flush();
  t.equal(b.state, 'rejected');
  t.match(b.error, { message: 'client went away' });
  t.match(l.stats(), { queued: 2, aborted: 1, rejected: 0 });
  t.equal(clock.pending(), 1, 'one deadline timer serves the whole queue');
  held();
  (await a)();
  (await c)();
  t.same(order, ['a', 'c']);
  t.match(l.stats(), { inFlight: 0, queued: 0 });
});

t.test('an already-aborted signal rejects without queueing or taking a slot', async (t) => {
  const { limiter: l } = limiter(1, 5);
  const controller = new AbortController();
  controller.abort(new Error('gone'));
  await t.rejects(l.acquire(controller.signal), { message: 'gone' });
  t.match(l.stats(), { inFlight: 0, queued: 0, acquired: 0 });
});

t.test('tryAcquire never jumps the queue', async (t) => {
  const { limiter: l } = limiter(1, 5);
  const held = await l.acquire();
  const waiter = track(l.acquire());
  held();
  t.equal(l.tryAcquire(), null, 'the freed slot already belongs to the waiter');
  await flush();
  t.equal(waiter.state, 'resolved');
});

t.test('constructor rejects bad options naming them', async (t) => {
  t.throws(() => new ConcurrencyLimiter({ limit: 0, maxQueue: 1, queueTimeoutMs: 1 }), /limit/);
  t.throws(() => new ConcurrencyLimiter({ limit: 1.5, maxQueue: 1, queueTimeoutMs: 1 }), /limit/);
  t.throws(() => new ConcurrencyLimiter({ limit: 1, maxQueue: -1, queueTimeoutMs: 1 }), /maxQueue/);
  t.throws(() => new ConcurrencyLimiter({ limit: 1, maxQueue: 1, queueTimeoutMs: 0 }), /queueTimeoutMs/);
});

t.test('with the system clock a queue timeout fires for real', async (t) => {
  const l = new ConcurrencyLimiter({ limit: 1, maxQueue: 1, queueTimeoutMs: 20 });
  const held = await l.acquire();
  const started = performance.now();
  await t.rejects(l.acquire(), { code: 'upstream_saturated', reason: 'queue_timeout' });
  t.ok(performance.now() - started >= 15, 'waited about queueTimeoutMs');
  held();
});

function adaptiveLimiter(initial: number, queueTimeoutMs = 10_000) {
  const clock = fakeClock();
  const limit = new AdaptiveLimit({ initial, min: 1, max: 100, latencyTolerance: 2, clock });
  return { clock, limit, limiter: new ConcurrencyLimiter({ limit, maxQueue: 10_000, queueTimeoutMs, clock }) };
}

t.test('the deadline queue: waiters keep FIFO order and each waits until its own deadline', async (t) => {
  const { clock, limiter: l } = adaptiveLimiter(1, 10_000);
  const held = await l.acquire();
  const waiters = Array.from({ length: 1_000 }, () => track(l.acquire()));
  t.equal(clock.pending(), 1, 'a thousand waiters, one timer');
  clock.advance(9_999);
  await flush();
  t.ok(waiters.every((w) => w.state === 'pending'), 'nobody refused before the deadline');
  held();
  await flush();
  t.same(waiters.slice(0, 2).map((w) => w.state), ['resolved', 'pending'], 'the oldest first');
  clock.advance(1);
  await flush();
  t.equal(waiters.filter((w) => w.state === 'rejected').length, 999, 'the rest refused at their deadline');
  t.match(waiters[1]!.error, { code: 'upstream_saturated', reason: 'queue_timeout' });
  t.match(l.stats(), { queued: 0, inFlight: 1, queueTimeout: 999 });
  t.equal(clock.pending(), 0, 'no timer once the queue is empty');
});

t.test('a grown limit admits waiters at once; a shrunk one holds them until in-flight is below it', async (t) => {
  const { clock, limit, limiter: l } = adaptiveLimiter(10);
  const slots = await Promise.all(Array.from({ length: 10 }, () => l.acquire()));
  const waiters = Array.from({ length: 5 }, () => track(l.acquire()));
  clock.advance(WINDOW_MS);
  // One healthy, saturated window (ten 100 ms calls that each started with 10 in flight) doubles the limit to 20 (slow start).
  slots.forEach((release) => release({ rttMs: 100, dropped: false }));
  await flush();
  t.equal(limit.current, 20);
  t.equal(waiters.filter((w) => w.state === 'resolved').length, 5, 'every waiter admitted: 10 slots freed');
  const more = await Promise.all(Array.from({ length: 15 }, () => l.acquire()));
  t.match(l.stats(), { limit: 20, inFlight: 20, queued: 0 });

  // A failing window (here reported straight to the limit) cuts it to 18 while 20 calls are in flight.
  clock.advance(WINDOW_MS);
  for (let i = 0; i < MIN_SAMPLES; i++) limit.sample({ rttMs: 0, dropped: true, inFlight: 20 });
  t.equal(limit.current, 18, 'x 0.9');
  t.equal(l.tryAcquire(), null, 'no slot while in-flight is above the limit');
  const late = track(l.acquire());
  more.slice(0, 2).forEach((release) => release());
  await flush();
  t.equal(late.state, 'pending', 'in-flight 18 is not below 18');
  more[2]!();
  await flush();
  t.equal(late.state, 'resolved', 'admitted once in-flight fell below the limit');
  t.match(l.stats(), { limit: 18, inFlight: 18, queued: 0 });
});

t.test('released slots feed the limit with the in-flight count their call started with', async (t) => {
  const { clock, limit, limiter: l } = adaptiveLimiter(10);
  clock.advance(WINDOW_MS);
  for (let i = 0; i < MIN_SAMPLES; i++) {
    const release = l.tryAcquire()!;
    release({ rttMs: 100, dropped: false });
  }
  t.equal(limit.current, 10, 'one call at a time: under-used, no growth');
  l.tryAcquire()!();
  t.equal(limit.stats().baselineRttMs, 100, 'a release without an outcome teaches nothing');
});
