import t from 'tap';
import { LogThrottle } from '../../src/log-throttle.js';

t.test('lets the first line of a key through, then one per interval, counting what it held back', async (t) => {
  let now = 1_000;
  const throttle = new LogThrottle(10_000, () => now);
  t.equal(throttle.admit('a'), 0, 'first line');
  t.equal(throttle.admit('a'), null);
  now += 9_999;
  t.equal(throttle.admit('a'), null, 'still inside the interval');
  t.equal(throttle.admit('b'), 0, 'another key has its own interval');
  now += 1;
  t.equal(throttle.admit('a'), 2, 'the next line says two were held back');
  t.equal(throttle.admit('a'), null);
  now += 10_000;
  t.equal(throttle.admit('a'), 1);
  t.equal(throttle.admit(), 0, 'the default key');
});
