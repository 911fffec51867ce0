import t from 'tap';
import { MAX_DELAY_MS, parseDelayTarget } from '../../../bench/servers/delay.js';

t.test('parseDelayTarget', async (t) => {
  t.test('a whole number of ms from 0 to the maximum', async (t) => {
    t.equal(parseDelayTarget('/__delay?ms=300'), 300);
    t.equal(parseDelayTarget('/__delay?ms=0'), 0);
    t.equal(parseDelayTarget(`/__delay?ms=${MAX_DELAY_MS}`), MAX_DELAY_MS);
    t.equal(parseDelayTarget('/__delay?other=1&ms=7'), 7);
  });

  t.test('null for anything else', async (t) => {
    for (const target of [
      '/__delay',
      '/__delay?ms=',
      '/__delay?ms=-1',
      '/__delay?ms=1.5',
      '/__delay?ms=1e3',
      '/__delay?ms=abc',
      '/__delay?ms=1&ms=2',
      `/__delay?ms=${MAX_DELAY_MS + 1}`,
      '/__delayed?ms=5',
      '/items/1?ms=5',
    ]) {
      t.equal(parseDelayTarget(target), null, target);
    }
  });
});
