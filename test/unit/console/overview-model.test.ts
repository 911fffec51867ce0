import t from 'tap';
import { parseMetrics } from '../../../console/src/metrics-text.js';
import { callsSaved, hitRatio, latencyByTier, quotas, rates, snapshot } from '../../../console/src/screens/overview-model.js';

const scrape = (hit: number, miss: number, stale: number, errors: number) =>
  parseMetrics(`sidecache_requests_total{upstream="api",status_class="2xx",cache="hit"} ${hit}
sidecache_requests_total{upstream="api",status_class="2xx",cache="miss"} ${miss}
sidecache_requests_total{upstream="api",status_class="2xx",cache="stale"} ${stale}
sidecache_requests_total{upstream="api",status_class="5xx",cache="miss"} ${errors}
sidecache_requests_total{upstream="none",status_class="error",cache="none"} 1
sidecache_request_duration_seconds_bucket{tier="memory",le="0.001"} 4
sidecache_request_duration_seconds_bucket{tier="memory",le="+Inf"} 4
sidecache_request_duration_seconds_bucket{tier="none",le="0.1"} 2
sidecache_request_duration_seconds_bucket{tier="none",le="+Inf"} 2
sidecache_upstream_quota_used{upstream="api"} 900
sidecache_upstream_quota_limit{upstream="api"} 1000
`);

t.test('rates by outcome and errors between two scrapes', async (t) => {
  const before = snapshot(scrape(10, 5, 0, 0), 0);
  const after = snapshot(scrape(30, 9, 2, 2), 2000);
  t.equal(after.requests, 30 + 9 + 2 + 2 + 1);
  t.same(after.byOutcome, { hit: 30, stale: 2, miss: 11, revalidated: 0, bypass: 0, none: 1 });
  t.equal(after.errors, 3, '5xx and no answer');
  const r = rates(before, after);
  t.equal(r.hit, 10);
  t.equal(r.miss, 3);
  t.equal(r.stale, 1);
  t.equal(r.error, 1);
  t.equal(rates(after, before).hit, 0, 'a restart (counters went down) reads as 0, not negative');
});

t.test('hit ratio over a window, calls saved, latency per tier, quotas', async (t) => {
  const before = snapshot(scrape(10, 10, 0, 0), 0);
  const after = snapshot(scrape(19, 11, 0, 0), 1000);
  t.equal(hitRatio(before, after), 0.9, 'only what happened between the two');
  t.equal(hitRatio(null, after), 19 / 30, 'since start');
  t.equal(hitRatio(after, after), null, 'nothing cacheable happened');
  t.same(callsSaved(scrape(19, 11, 2, 0), snapshot(scrape(19, 11, 2, 0), 0)), { value: 21, counted: false }, 'estimated where the instance does not count them');
  const counted = parseMetrics('sidecache_upstream_calls_saved_total{upstream="a"} 4\nsidecache_upstream_calls_saved_total{upstream="b"} 3\n');
  t.same(callsSaved(counted, after), { value: 7, counted: true }, 'the counter, where exported');
  t.same(latencyByTier(scrape(0, 0, 0, 0)), [
    { tier: 'memory', p50: 0.5, p95: 0.95 },
    { tier: 'upstream (miss/bypass)', p50: 50, p95: 95 },
  ]);
  t.same([...quotas(scrape(0, 0, 0, 0))], [['api', { used: 900, limit: 1000 }]]);
});
