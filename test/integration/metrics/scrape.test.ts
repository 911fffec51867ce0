import t from 'tap';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { buildInstanceAdminApp } from '../../../src/admin/instance.js';
import type { Config } from '../../../src/config/types.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string }> };

function adminFor(proxy: RunningProxy, config: Config) {
  return buildInstanceAdminApp(proxy, config, { shareLogger: false });
}

async function scrape(admin: ReturnType<typeof adminFor>): Promise<Map<string, Family>> {
  const response = await admin.inject('/metrics');
  if (response.statusCode !== 200) throw new Error(`scrape answered ${response.statusCode}`);
  if (!String(response.headers['content-type']).startsWith('text/plain; version=0.0.4')) throw new Error('not the text exposition');
  return new Map((parsePrometheusTextFormat(response.body) as Family[]).map((family) => [family.name, family]));
}

function sum(family: Family | undefined, labels: Record<string, string>): number {
  let total = 0;
  for (const metric of family?.metrics ?? []) {
    if (Object.entries(labels).every(([k, v]) => metric.labels?.[k] === v)) total += Number(metric.value ?? 0);
  }
  return total;
}

t.test('counters move as requests flow, and /healthz, /readyz, /metrics need no token', async (t) => {
  const upstream = await startFakeUpstream((req, res) => {
    res.statusCode = req.url?.startsWith('/broken') ? 503 : 200;
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }, { path: '/broken' }] }], { admin: { host: '127.0.0.1', port: 0, token: TEST_ADMIN_TOKEN } });
  const proxy = await startProxy(t, config);
  const admin = adminFor(proxy, config);
  t.teardown(() => admin.close());

  t.equal((await admin.inject('/healthz')).statusCode, 200);
  t.equal((await admin.inject('/readyz')).json().status, 'ready');
  const before = await scrape(admin);
  t.equal(sum(before.get('sidecache_requests_total'), {}), 0);

  await proxy.fetch('/api/items/1');
  await proxy.fetch('/api/items/1');
  await proxy.fetch('/api/items/1');
  await proxy.fetch('/api/broken');
  await proxy.fetch('/api/items/2', { method: 'POST', body: 'x' });
  await proxy.fetch('/elsewhere/x');
  // onResponse runs after the client has its response: let it.
  await new Promise((resolve) => setTimeout(resolve, 20));

  const after = await scrape(admin);
  const requests = after.get('sidecache_requests_total');
  t.equal(sum(requests, { upstream: 'api', method: 'GET', status_class: '2xx', cache: 'miss' }), 1);
  t.equal(sum(requests, { upstream: 'api', method: 'GET', status_class: '2xx', cache: 'hit' }), 2);
  t.equal(sum(requests, { upstream: 'api', status_class: '5xx' }), 1);
  t.equal(sum(requests, { upstream: 'api', method: 'POST', cache: 'bypass' }), 1);
  t.equal(sum(requests, { upstream: 'none', status_class: '4xx' }), 1, 'refusals count under upstream="none"');
  t.equal(sum(after.get('sidecache_cache_lookups_total'), { tier: 'memory', result: 'hit' }), 2);
  t.ok(sum(after.get('sidecache_cache_lookups_total'), { tier: 'memory', result: 'miss' }) >= 2);
  t.equal(sum(after.get('sidecache_cache_entries'), { tier: 'memory' }), 1, 'items/1 is stored; the 503 is not');
  t.equal(sum(after.get('sidecache_tier_up'), { tier: 'memory' }), 1);
  t.equal(sum(after.get('sidecache_upstream_requests_in_flight'), { upstream: 'api' }), 0);
  t.ok(after.has('sidecache_process_resident_memory_bytes'), 'process metrics are exposed');
  t.equal(sum(after.get('sidecache_invalidations_total'), { source: 'write' }), 1);
  t.equal(sum(after.get('sidecache_upstream_circuit_state'), { upstream: 'api' }), 0, 'breaker closed');

  t.equal((await admin.inject('/admin/stats')).statusCode, 401, '/admin/stats needs the token');
  t.equal((await adminInject(admin, '/admin/stats?x=1')).statusCode, 400, 'unknown query parameters are refused');
  const stats = (await adminInject(admin, '/admin/stats')).json();
  t.equal(stats.upstreams.api.requests, 5);
  t.equal(stats.upstreams.api.errors, 1, 'the 503');
  t.ok(stats.upstreams.api.upstreamLatencyMs.p50 > 0);
  t.ok(stats.upstreams.api.upstreamLatencyMs.p95 >= stats.upstreams.api.upstreamLatencyMs.p50);
  t.equal(stats.upstreams.api.inFlight, 0);
  t.same(stats.tiers.memory, { hits: 2, misses: stats.tiers.memory.misses, hitRatio: stats.tiers.memory.hitRatio, entries: 1, bytes: stats.tiers.memory.bytes, errors: 0, timeouts: 0, skipped: 0, health: 'up', breaker: 'none' });
  t.ok(stats.tiers.memory.hitRatio > 0 && stats.tiers.memory.hitRatio < 1);
  t.same(stats.invalidations, { write: 1, admin: 0, hook: 0 }, 'the successful POST invalidated its own URI');
  t.equal(stats.coalescedRequests, 0);
  t.same(stats.staleServed, {});
  t.equal(stats.audit, null, 'audit is off in this config');
  t.match(stats.version, /^\d+\.\d+\.\d+/);
  t.match(stats.configDigest, /^[0-9a-f]{16}$/);
  t.ok(stats.uptimeSeconds >= 0);
});

t.test('no label grows with paths: 10k distinct paths leave label sets bounded', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]);
  const proxy = await startProxy(t, config);
  const admin = adminFor(proxy, config);
  t.teardown(() => admin.close());

  const started = Date.now();
  for (let batch = 0; batch < 10_000 / 50 && Date.now() - started < 60_000; batch++) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, j) => {
        const i = batch * 50 + j;
        const response = await proxy.app.inject(i % 2 === 0 ? `/api/items/${i}?q=${i}` : `/api/raw/${i}`);
        if (response.statusCode !== 200) throw new Error(`request ${i} answered ${response.statusCode}`);
      }),
    );
  }
  const families = await scrape(admin);
  let series = 0;
  for (const [name, family] of families) {
    if (!name.startsWith('sidecache_') || name.startsWith('sidecache_nodejs_') || name.startsWith('sidecache_process_')) continue;
    series += family.metrics.length;
    for (const metric of family.metrics) {
      for (const [label, value] of Object.entries(metric.labels ?? {})) {
        t.notMatch(value, /\/|items|raw|\d{3,}/, `${name}{${label}} holds no path or id`);
      }
    }
  }
  t.ok(series < 200, `${series} series after 10k distinct paths`);
  t.equal(sum(families.get('sidecache_requests_total'), { upstream: 'api' }), 10_000);
});
