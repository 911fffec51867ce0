import t from 'tap';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { SidecacheMetrics } from '../../../src/metrics/metrics.js';

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }> };

async function scrape(metrics: SidecacheMetrics): Promise<Map<string, Family>> {
  const families = parsePrometheusTextFormat(await metrics.scrape()) as Family[];
  return new Map(families.map((family) => [family.name, family]));
}

async function histogram(metrics: SidecacheMetrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  const { values } = await metric!.get();
  return values as Array<{ value: number; metricName?: string; labels: Record<string, string | number> }>;
}

function value(family: Family | undefined, labels: Record<string, string>): number | undefined {
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found?.value === undefined ? undefined : Number(found.value);
}

t.test('hot-path events become labelled counters and histograms', async (t) => {
  const metrics = new SidecacheMetrics({}, { processMetrics: false });
  metrics.requestCompleted('sf', 'GET', 200, 'HIT', 0.0004);
  metrics.requestCompleted('sf', 'GET', 200, 'HIT', 0.0006);
  metrics.requestCompleted('sf', 'PATCH', 502, null, 0.2);
  metrics.requestCompleted(null, 'GET', 400, null, 0.001);
  metrics.upstreamStarted('sf');
  metrics.upstreamStarted('sf');
  metrics.upstreamFinished('sf', 200, 0.3);
  metrics.upstreamFinished('sf', null, 1.2);
  metrics.coalesced('sf');
  metrics.staleServed('sf', 'error');

  const families = await scrape(metrics);
  const requests = families.get('sidecache_requests_total');
  t.equal(requests?.type, 'COUNTER');
  t.equal(value(requests, { upstream: 'sf', method: 'GET', status_class: '2xx', cache: 'hit' }), 2);
  t.equal(value(requests, { upstream: 'sf', method: 'PATCH', status_class: '5xx', cache: 'none' }), 1);
  t.equal(value(requests, { upstream: 'none', status_class: '4xx' }), 1);
  t.equal(families.get('sidecache_request_duration_seconds')?.type, 'HISTOGRAM');
  // The text parser merges a histogram's label sets, so read histograms through prom-client.
  const duration = await histogram(metrics, 'sidecache_request_duration_seconds');
  t.equal(duration.find((v) => v.metricName?.endsWith('_count') && v.labels['cache'] === 'hit')?.value, 2);
  t.equal(duration.find((v) => v.labels['le'] === 0.0005 && v.labels['cache'] === 'hit')?.value, 1);
  const upstream = await histogram(metrics, 'sidecache_upstream_request_duration_seconds');
  t.equal(
    upstream.find((v) => v.metricName?.endsWith('_count') && v.labels['status_class'] === 'error')?.value,
    1,
    'failed calls are timed as status_class=error',
  );
  t.equal(value(families.get('sidecache_upstream_requests_in_flight'), { upstream: 'sf' }), 0);
  t.equal(value(families.get('sidecache_coalesced_requests_total'), { upstream: 'sf' }), 1);
  t.equal(value(families.get('sidecache_stale_served_total'), { upstream: 'sf', reason: 'error' }), 1);

  const summaries = await metrics.upstreamSummaries();
  const sf = summaries.get('sf')!;
  t.equal(sf.requests, 3);
  t.equal(sf.errors, 1);
  t.equal(sf.coalesced, 1);
  t.same(sf.staleServed, { error: 1 });
  t.ok(sf.upstreamLatencyMs.p50! > 250 && sf.upstreamLatencyMs.p50! <= 1000, `p50 ${sf.upstreamLatencyMs.p50} ms lies in the 0.25–1 s bucket`);
  t.ok(sf.upstreamLatencyMs.p95! > 1000 && sf.upstreamLatencyMs.p95! <= 2500);
});

t.test('scrape-time sources: tiers, invalidations, audit, pool', async (t) => {
  let hits = 5;
  const metrics = new SidecacheMetrics(
    {
      tiers: () => [
        { tier: 'memory', up: true, hits, misses: 2, errors: 0, skipped: 0, entries: 10, bytes: 2048 },
        { tier: 'redis', up: false, hits: 1, misses: 3, errors: 7, skipped: 4, entries: null, bytes: null },
      ],
      invalidations: () => ({ write: 3, admin: 1 }),
      audit: () => ({ written: 100, spooled: 5, replayed: 5, dropped: 0, queueDepth: 12 }),
      pgPool: () => ({ total: 4, idle: 3, waiting: 0, max: 20 }),
    },
    { processMetrics: false },
  );
  let families = await scrape(metrics);
  t.equal(value(families.get('sidecache_cache_lookups_total'), { tier: 'memory', result: 'hit' }), 5);
  t.equal(value(families.get('sidecache_cache_lookups_total'), { tier: 'redis', result: 'skipped' }), 4);
  t.equal(value(families.get('sidecache_cache_entries'), { tier: 'memory' }), 10);
  t.equal(value(families.get('sidecache_cache_entries'), { tier: 'redis' }), undefined, 'an unknown size is absent, not zero');
  t.equal(value(families.get('sidecache_cache_bytes'), { tier: 'memory' }), 2048);
  t.equal(value(families.get('sidecache_tier_up'), { tier: 'memory' }), 1);
  t.equal(value(families.get('sidecache_tier_up'), { tier: 'redis' }), 0);
  t.equal(value(families.get('sidecache_tier_errors_total'), { tier: 'redis' }), 7);
  t.equal(value(families.get('sidecache_invalidations_total'), { source: 'write' }), 3);
  t.equal(value(families.get('sidecache_audit_events_total'), { outcome: 'spooled' }), 5);
  t.equal(value(families.get('sidecache_audit_queue_depth'), {}), 12);
  t.equal(value(families.get('sidecache_pg_pool_connections'), { state: 'idle' }), 3);
  t.equal(value(families.get('sidecache_pg_pool_connections'), { state: 'max' }), 20, 'the pool size, so a dashboard can show how busy it is');

  hits = 9;
  families = await scrape(metrics);
  t.equal(value(families.get('sidecache_cache_lookups_total'), { tier: 'memory', result: 'hit' }), 9, 'read afresh on every scrape');
});

t.test('scrape-time sources: upstream guards, the adaptive concurrency limit among them', async (t) => {
  let limit = 32;
  const last = { used: 91_000, limit: 100_000, nearLimit: false, resetAt: null, reportedAt: 0 };
  const quota = { last, retryAfterSeconds: null, nearLimit: true, saving: true, savingReason: 'usage' as const, savingUntil: 1, callsSaved: 12, callsSavedToday: 5, malformed: 1 };
  const metrics = new SidecacheMetrics(
    {
      upstreamGuards: () =>
        new Map([['sf', { breakerState: 'half_open' as const, breakerOpens: 2, limit, inFlight: 30, queued: 7, rejected: 4, pausedForMs: 1_500, quota }]]),
    },
    { processMetrics: false },
  );
  let families = await scrape(metrics);
  t.equal(families.get('sidecache_upstream_concurrency_limit')?.type, 'GAUGE');
  t.equal(value(families.get('sidecache_upstream_concurrency_limit'), { upstream: 'sf' }), 32);
  t.equal(value(families.get('sidecache_upstream_queued_requests'), { upstream: 'sf' }), 7);
  t.equal(value(families.get('sidecache_upstream_saturated_total'), { upstream: 'sf' }), 4);
  t.equal(value(families.get('sidecache_upstream_circuit_state'), { upstream: 'sf' }), 1);
  t.equal(value(families.get('sidecache_upstream_circuit_opens_total'), { upstream: 'sf' }), 2);
  t.equal(value(families.get('sidecache_upstream_paused_seconds'), { upstream: 'sf' }), 1.5);
  t.equal(value(families.get('sidecache_upstream_quota_used'), { upstream: 'sf' }), 91_000);
  t.equal(value(families.get('sidecache_upstream_quota_limit'), { upstream: 'sf' }), 100_000);
  t.equal(value(families.get('sidecache_upstream_quota_near_limit'), { upstream: 'sf' }), 1);
  t.equal(value(families.get('sidecache_upstream_quota_saver'), { upstream: 'sf' }), 1);
  t.equal(value(families.get('sidecache_upstream_calls_saved_total'), { upstream: 'sf' }), 12);
  t.equal(value(families.get('sidecache_upstream_quota_malformed_total'), { upstream: 'sf' }), 1);

  limit = 9;
  families = await scrape(metrics);
  t.equal(value(families.get('sidecache_upstream_concurrency_limit'), { upstream: 'sf' }), 9, 'read afresh on every scrape');
});

t.test('requests alternating between label sets are each counted in their own series', async (t) => {
  const metrics = new SidecacheMetrics({}, { processMetrics: false });
  // The tally keeps the last label set at hand; a change of any one label must leave it.
  const sequence: Array<[string, string, number, string, string]> = [
    ['sf', 'GET', 200, 'HIT', 'memory'],
    ['sf', 'GET', 200, 'HIT', 'memory'],
    ['sf', 'GET', 200, 'HIT', 'redis'],
    ['sf', 'GET', 200, 'MISS', 'memory'],
    ['sf', 'GET', 404, 'HIT', 'memory'],
    ['sf', 'HEAD', 200, 'HIT', 'memory'],
    ['jira', 'GET', 200, 'HIT', 'memory'],
    ['sf', 'GET', 200, 'HIT', 'memory'],
  ];
  for (const [upstream, method, status, cache, tier] of sequence) metrics.requestCompleted(upstream, method, status, cache, 0.001, tier);
  const requests = (await scrape(metrics)).get('sidecache_requests_total');
  t.equal(value(requests, { upstream: 'sf', method: 'GET', status_class: '2xx', cache: 'hit' }), 4, 'memory and redis hits, one series');
  t.equal(value(requests, { upstream: 'sf', method: 'GET', status_class: '2xx', cache: 'miss' }), 1);
  t.equal(value(requests, { upstream: 'sf', method: 'GET', status_class: '4xx', cache: 'hit' }), 1);
  t.equal(value(requests, { upstream: 'sf', method: 'HEAD', status_class: '2xx', cache: 'hit' }), 1);
  t.equal(value(requests, { upstream: 'jira', method: 'GET', status_class: '2xx', cache: 'hit' }), 1);
  const duration = await histogram(metrics, 'sidecache_request_duration_seconds');
  const count = (cache: string, tier: string) =>
    duration.find((v) => v.metricName?.endsWith('_count') && v.labels['upstream'] === 'sf' && v.labels['cache'] === cache && v.labels['tier'] === tier)?.value;
  t.equal(count('hit', 'memory'), 5, 'GET and HEAD hits from memory (the histogram is not split by method or status)');
  t.equal(count('hit', 'redis'), 1);
});

t.test('every metric follows the naming rules', async (t) => {
  const metrics = new SidecacheMetrics({}, { processMetrics: true });
  const families = await scrape(metrics);
  t.ok(families.has('sidecache_process_cpu_seconds_total'), 'process metrics carry the prefix');
  for (const [name, family] of families) {
    t.match(name, /^sidecache_[a-z0-9_]+$/, name);
    if (family.type === 'COUNTER') t.match(name, /_total$/, `${name} is a counter ending in _total`);
    if (family.type === 'HISTOGRAM' && !name.startsWith('sidecache_nodejs_')) t.match(name, /_seconds$/, `${name} is in seconds`);
  }
});

t.test('request latency is labelled by the tier that answered; the request counter is not split by it', async (t) => {
  const metrics = new SidecacheMetrics({}, { processMetrics: false });
  metrics.requestCompleted('sf', 'GET', 200, 'HIT', 0.0004, 'memory');
  metrics.requestCompleted('sf', 'GET', 200, 'HIT', 0.004, 'redis');
  metrics.requestCompleted('sf', 'GET', 200, 'HIT', 0.003, 'redis');
  metrics.requestCompleted('sf', 'GET', 200, 'MISS', 0.3);

  const families = await scrape(metrics);
  const requests = families.get('sidecache_requests_total');
  t.equal(value(requests, { upstream: 'sf', method: 'GET', status_class: '2xx', cache: 'hit' }), 3, 'one series for hits from any tier');
  t.equal(requests?.metrics.filter((m) => m.labels?.['tier'] !== undefined).length, 0, 'no tier label on the counter');
  const duration = await histogram(metrics, 'sidecache_request_duration_seconds');
  const count = (tier: string, cache: string) => duration.find((v) => v.metricName?.endsWith('_count') && v.labels['tier'] === tier && v.labels['cache'] === cache)?.value;
  t.equal(count('memory', 'hit'), 1);
  t.equal(count('redis', 'hit'), 2);
  t.equal(count('none', 'miss'), 1, 'a miss has no tier');
});
