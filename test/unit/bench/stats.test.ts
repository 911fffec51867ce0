import t from 'tap';
import { median, percentile } from '../../../bench/lib/stats.js';

t.test('percentile is nearest-rank over unsorted samples', async (t) => {
  t.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  t.equal(percentile([5, 1, 4, 2, 3], 99), 5);
  t.equal(percentile([5, 1, 4, 2, 3], 0), 1);
  t.ok(Number.isNaN(percentile([], 50)), 'NaN for no samples');
});

t.test('median', async (t) => {
  t.equal(median([0.9, 0.7, 1.1]), 0.9, 'the middle of an odd count');
  t.equal(median([1.0, 0.8, 0.7, 1.2]), 0.9, 'the mean of the middle two of an even count');
  t.equal(median([2]), 2);
  const samples = [3, 1, 2];
  median(samples);
  t.same(samples, [3, 1, 2], 'the samples are not reordered');
  t.ok(Number.isNaN(median([])), 'NaN for no samples');
});
