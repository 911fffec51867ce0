import t from 'tap';
import { EVENTS_PER_TURN, mapInTurns } from '../../../src/audit/in-turns.js';

t.test('mapInTurns maps in order, EVENTS_PER_TURN items per turn of the event loop', async (t) => {
  const items = Array.from({ length: EVENTS_PER_TURN * 2 + 5 }, (_, i) => i);
  let mapped = 0;
  const mapping = mapInTurns(items, (i) => {
    mapped += 1;
    return i * 2;
  });
  t.equal(mapped, EVENTS_PER_TURN, 'the first turn maps EVENTS_PER_TURN items, then yields');
  let mappedWhenAnotherCallbackRan = -1;
  setImmediate(() => (mappedWhenAnotherCallbackRan = mapped));
  t.same(await mapping, items.map((i) => i * 2), 'every item, in order');
  t.ok(mappedWhenAnotherCallbackRan % EVENTS_PER_TURN === 0 && mappedWhenAnotherCallbackRan < items.length, `another callback ran between turns (after ${mappedWhenAnotherCallbackRan})`);
});

t.test('a batch that fits in one turn is mapped without waiting', async (t) => {
  let done = false;
  const mapping = mapInTurns([1, 2, 3], (i) => i + 1).then((out) => {
    done = true;
    return out;
  });
  await Promise.resolve();
  await Promise.resolve();
  t.ok(done, 'settled within microtasks');
  t.same(await mapping, [2, 3, 4]);
});
