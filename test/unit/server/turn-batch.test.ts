import t from 'tap';
import { setImmediate as nextImmediate } from 'node:timers/promises';
import { turnBatch } from '../../../src/server/turn-batch.js';

t.test('items queued in a turn run together, in order, after the turn and its ticks', async (t) => {
  const ran: string[] = [];
  const batch = turnBatch<string>((item) => ran.push(item), () => t.fail('nothing throws'));
  batch.add('a');
  batch.add('b');
  process.nextTick(() => ran.push('tick'));
  await Promise.resolve();
  ran.push('microtask');
  batch.add('c');
  t.same(ran, ['microtask'], 'nothing runs while the turn is still going');
  await nextImmediate();
  t.same(ran, ['microtask', 'tick', 'a', 'b', 'c'], 'the batch runs at the end of the turn, once, in arrival order');

  batch.add('d');
  t.same(ran.length, 5, 'a later item waits for its own turn');
  await nextImmediate();
  t.same(ran.slice(5), ['d']);
});

t.test('an item that throws is reported, and the items after it still run', async (t) => {
  const ran: number[] = [];
  const failures: Array<[string, number]> = [];
  const batch = turnBatch<number>(
    (item) => {
      if (item === 2) throw new Error('two');
      ran.push(item);
    },
    (err, item) => failures.push([(err as Error).message, item]),
  );
  for (const item of [1, 2, 3]) batch.add(item);
  await nextImmediate();
  t.same(ran, [1, 3]);
  t.same(failures, [['two', 2]]);
});

t.test('an item queued while the batch runs waits for the next turn', async (t) => {
  const ran: string[] = [];
  const batch = turnBatch<string>((item) => {
    ran.push(item);
    if (item === 'first') batch.add('queued while running');
  }, () => t.fail('nothing throws'));
  batch.add('first');
  await nextImmediate();
  t.same(ran, ['first'], 'not run in the batch that queued it');
  await nextImmediate();
  t.same(ran, ['first', 'queued while running']);
});
