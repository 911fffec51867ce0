import t from 'tap';
import { parseMetrics, quantile, total, totalsBy } from '../../../console/src/metrics-text.js';

const TEXT = `# HELP sidecache_requests_total Requests
# TYPE sidecache_requests_total counter
sidecache_requests_total{upstream="api",method="GET",status_class="2xx",cache="hit"} 6
sidecache_requests_total{upstream="api",method="GET",status_class="2xx",cache="miss"} 3
sidecache_requests_total{upstream="jira",method="GET",status_class="5xx",cache="miss"} 1
sidecache_d_bucket{tier="memory",le="0.001"} 0
sidecache_d_bucket{tier="memory",le="0.01"} 8
sidecache_d_bucket{tier="memory",le="0.1"} 10
sidecache_d_bucket{tier="memory",le="+Inf"} 10
sidecache_d_bucket{tier="none",le="0.001"} 0
sidecache_d_bucket{tier="none",le="+Inf"} 0
sidecache_label_escapes{v="a\\"b\\\\c\\nd"} 1
sidecache_audit_queue_depth 4
`;

t.test('parses samples, labels (with escapes) and values', async (t) => {
  const samples = parseMetrics(TEXT);
  t.equal(samples.length, 11);
  t.same(samples[0], { name: 'sidecache_requests_total', labels: { upstream: 'api', method: 'GET', status_class: '2xx', cache: 'hit' }, value: 6 });
  t.equal(samples.find((s) => s.name === 'sidecache_label_escapes')?.labels['v'], 'a"b\\c\nd');
  t.equal(total(samples, 'sidecache_audit_queue_depth'), 4, 'a sample without labels');
});

t.test('sums over label subsets and groups by a label', async (t) => {
  const samples = parseMetrics(TEXT);
  t.equal(total(samples, 'sidecache_requests_total'), 10);
  t.equal(total(samples, 'sidecache_requests_total', { cache: 'miss' }), 4);
  t.equal(total(samples, 'sidecache_requests_total', { upstream: 'nope' }), 0);
  t.same([...totalsBy(samples, 'sidecache_requests_total', 'cache')], [['hit', 6], ['miss', 4]]);
});

t.test('histogram quantiles like histogram_quantile: linear inside the bucket', async (t) => {
  const samples = parseMetrics(TEXT);
  t.equal(quantile(samples, 'sidecache_d', 0.5, { tier: 'memory' }), 0.001 + (0.01 - 0.001) * (5 / 8));
  t.equal(quantile(samples, 'sidecache_d', 0.9, { tier: 'memory' }), 0.01 + (0.1 - 0.01) * (1 / 2));
  t.equal(quantile(samples, 'sidecache_d', 0.5, { tier: 'none' }), null, 'no observations');
  t.equal(quantile(samples, 'sidecache_missing', 0.5), null);
});
