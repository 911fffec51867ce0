import t from 'tap';
import { parseDuration, parseSize } from '../../../src/config/units.js';

t.test('parseDuration: numbers are seconds, strings carry a unit', async (t) => {
  const cases: [number | string, number][] = [
    [0, 0],
    [30, 30_000],
    [0.5, 500],
    ['30', 30_000],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5h', 5_400_000],
    ['10 s', 10_000],
  ];
  for (const [input, ms] of cases) t.equal(parseDuration(input), ms, `${JSON.stringify(input)} -> ${ms}ms`);
});

t.test('parseDuration: rejects what is not a duration, naming the expected shape', async (t) => {
  for (const input of ['', 'soon', '5 minutes', '-1s', '1w', '5M', 'ms', -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(
      () => parseDuration(input),
      { message: `must be a duration like "30s", "5m" or a number of seconds, got ${JSON.stringify(input)}` },
      `rejects ${String(input)}`,
    );
  }
});

t.test('parseSize: numbers are bytes, units are 1024-based and case-insensitive', async (t) => {
  const cases: [number | string, number][] = [
    [0, 0],
    [1024, 1024],
    ['1024', 1024],
    ['512B', 512],
    ['2KB', 2048],
    ['2kb', 2048],
    ['2KiB', 2048],
    ['2kib', 2048],
    ['256MB', 256 * 1024 ** 2],
    ['256MiB', 256 * 1024 ** 2],
    ['1GB', 1024 ** 3],
    ['1gb', 1024 ** 3],
    ['1.5KB', 1536],
    ['1 MB', 1024 ** 2],
    ['2TB', 2 * 1024 ** 4],
  ];
  for (const [input, bytes] of cases) t.equal(parseSize(input), bytes, `${JSON.stringify(input)} -> ${bytes}`);
});

t.test('parseSize: rejects what is not a size, naming the expected shape', async (t) => {
  for (const input of ['', 'big', '1 parsec', '-1KB', '1K', '1iB', 1.5, -1, Number.NaN, '99999999999TB']) {
    t.throws(
      () => parseSize(input),
      { message: `must be a size like "512KB", "256MB", "1GB" or a number of bytes, got ${JSON.stringify(input)}` },
      `rejects ${String(input)}`,
    );
  }
});
