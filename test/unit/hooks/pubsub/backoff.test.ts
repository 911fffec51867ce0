import t from 'tap';
import { backoffDelay, sleep } from '../../../../src/hooks/pubsub/backoff.js';

t.test('doubles from the initial delay up to the cap, each delay in the upper half of its step', async (t) => {
  const at = (random: number) => (attempt: number) => backoffDelay(attempt, { initialMs: 1_000, maxMs: 60_000, random: () => random });
  t.same([0, 1, 2, 3, 6, 7, 50].map(at(1)), [1_000, 2_000, 4_000, 8_000, 60_000, 60_000, 60_000]);
  t.same([0, 1, 2, 6].map(at(0)), [500, 1_000, 2_000, 30_000]);
});

t.test('sleep ends early when its signal aborts', async (t) => {
  const stop = new AbortController();
  const started = Date.now();
  setTimeout(() => stop.abort(), 20);
  await sleep(10_000, stop.signal);
  t.ok(Date.now() - started < 1_000);
  await sleep(10_000, stop.signal);
  t.pass('an aborted signal resolves at once');
});
