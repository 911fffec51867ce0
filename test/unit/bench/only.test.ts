import t from 'tap';
import { parseOnly } from '../../../bench/lib/only.js';

t.test('parseOnly', async (t) => {
  t.test('unset or blank selects every scenario', async (t) => {
    t.same([...parseOnly(undefined, 10).keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.same([...parseOnly(' , ', 3).entries()], [[1, 'all'], [2, 'all'], [3, 'all']]);
  });

  t.test('numbers, two-digit numbers and part letters', async (t) => {
    const only = parseOnly('1, 10 5a,5D 6', 10);
    t.equal(only.get(1), 'all');
    t.equal(only.get(10), 'all');
    t.same([...(only.get(5) as Set<string>)], ['a', 'd']);
    t.equal(only.get(6), 'all');
    t.notOk(only.has(2));
  });

  t.test('a scenario named alone wins over its letters, in either order', async (t) => {
    t.equal(parseOnly('5a,5', 10).get(5), 'all');
    t.equal(parseOnly('5,5a', 10).get(5), 'all');
  });

  t.test('refuses what is not a scenario, naming the token', async (t) => {
    t.throws(() => parseOnly('11', 10), /"11" is not a scenario \(1-10/);
    t.throws(() => parseOnly('0', 10), /"0"/);
    t.throws(() => parseOnly('1-3', 10), /"1-3"/);
    t.throws(() => parseOnly('a5', 10), /"a5"/);
    t.throws(() => parseOnly('100', 10), /"100"/);
  });
});
