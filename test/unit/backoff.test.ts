import t from 'tap';
import { backoffDelay } from '../../src/backoff.js';

t.test('doubles from the initial delay up to the cap, each delay in the upper half of its step', async (t) => {
  const at = (random: number) => (attempt: number) => backoffDelay(attempt, { initialMs: 1_000, maxMs: 60_000, random: () => random });
  t.same([0, 1, 2, 3, 6, 7, 50].map(at(1)), [1_000, 2_000, 4_000, 8_000, 60_000, 60_000, 60_000]);
  t.same([0, 1, 2, 6].map(at(0)), [500, 1_000, 2_000, 30_000]);
});
