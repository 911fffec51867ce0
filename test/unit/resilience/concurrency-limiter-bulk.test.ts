import t from 'tap';
import { AdaptiveLimit, MIN_SAMPLES, WINDOW_MS } from '../../../src/resilience/adaptive-limit.js';
import { BULK_SHARE, ConcurrencyLimiter, type Release } from '../../../src/resilience/concurrency-limiter.js';
import { fakeClock, flush } from '../../helpers/clock.js';

function limiter(limit: number | AdaptiveLimit, clock = fakeClock()) {
  return { clock, limiter: new ConcurrencyLimiter({ limit, maxQueue: 100, queueTimeoutMs: 1_000, clock }) };
}

t.test('bulk calls hold at most their share of the limit; the rest stays free for other calls', async (t) => {
  t.equal(BULK_SHARE, 0.5);
  const { limiter: l } = limiter(8);
  const bulk: Release[] = [];
  for (let i = 0; i < 4; i++) bulk.push(await l.acquire(undefined, { bulk: true }));
  t.equal(l.tryAcquire({ bulk: true }), null, 'a fifth bulk call finds no bulk slot');
  const waiting = l.acquire(undefined, { bulk: true });
  let admitted = false;
  void waiting.then(() => (admitted = true));
  await flush();
  t.match(l.stats(), { inFlight: 4, queued: 1, bulkInFlight: 4, bulkLimit: 4 });

  const others: Release[] = [];
  for (let i = 0; i < 4; i++) {
    const slot = l.tryAcquire();
    t.type(slot, 'function', `other call ${i + 1} gets a slot past the waiting bulk call`);
    others.push(slot!);
  }
  t.equal(l.tryAcquire(), null, 'the limit still holds');
  others[0]!();
  await flush();
  t.notOk(admitted, 'a freed ordinary slot does not go to a bulk call over its share');
  t.type(l.tryAcquire(), 'function', 'it stays free for the next ordinary call');

  bulk[0]!();
  await flush();
  t.ok(admitted, 'a freed bulk slot goes to the waiting bulk call');
  t.equal(l.stats().bulkInFlight, 4);
});

t.test('ordinary waiters behind a held-back bulk waiter are admitted in order', async (t) => {
  const { limiter: l } = limiter(2);
  const bulk = await l.acquire(undefined, { bulk: true }); // the share of 2 is 1
  const other = await l.acquire();
  const order: string[] = [];
  const second = l.acquire(undefined, { bulk: true }).then((release) => (order.push('bulk'), release));
  const third = l.acquire().then((release) => (order.push('other'), release));
  await flush();
  other();
  await flush();
  t.same(order, ['other'], 'the bulk waiter at the head is skipped, not waited for');
  bulk();
  await flush();
  t.same(order, ['other', 'bulk']);
  (await second)();
  (await third)();
});

t.test('a bulk call always gets at least one slot, and its round trip is not a latency sample', async (t) => {
  const clock = fakeClock();
  const adaptive = new AdaptiveLimit({ initial: 1, min: 1, max: 10, latencyTolerance: 2, clock });
  const { limiter: l } = limiter(adaptive, clock);
  t.equal(l.stats().bulkLimit, 1);
  // Healthy fast calls set a baseline and grow the limit...
  for (let i = 0; i < MIN_SAMPLES; i++) {
    const release = await l.acquire();
    clock.advance(10);
    release({ rttMs: 10, dropped: false });
  }
  clock.advance(WINDOW_MS);
  const before = adaptive.current;
  // ...and uploads that take minutes (the client's pace, not the upstream's) do not shrink it.
  for (let i = 0; i < MIN_SAMPLES * 2; i++) {
    const release = await l.acquire(undefined, { bulk: true });
    clock.advance(WINDOW_MS / 4);
    release({ rttMs: 60_000, dropped: false });
  }
  clock.advance(WINDOW_MS);
  t.ok(before > 1, `the limit grew to ${before}`);
  t.equal(adaptive.current, before, 'slow uploads did not cut it');
});
