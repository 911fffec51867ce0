import t, { type Test } from 'tap';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { buildInstanceAdminApp } from '../../../src/admin/instance.js';
import { startProxy } from '../../helpers/app.js';
import { TEST_ADMIN_TOKEN, adminInject } from '../../helpers/admin.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

/** A pino logger at warn level whose lines the test reads. */
function captureLog() {
  const written: string[] = [];
  return {
    logger: { level: 'warn', stream: { write: (line: string) => void written.push(line) } },
    lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A Salesforce-like upstream whose `api-usage` the test sets; `/refuse` answers 500 so stale-if-error would show. */
async function setup(t: Test) {
  const usage = { used: 1000, limit: 100_000 };
  let version = 1;
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('sforce-limit-info', `api-usage=${usage.used}/${usage.limit}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version, url: req.url }));
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
  const log = captureLog();
  const config = testConfig(
    [{ name: 'salesforce', prefix: '/salesforce', target: upstream.url, rules: [{ path: '/items/:id', ttlMs: 10_000, staleWhileRevalidateMs: 0, staleIfErrorMs: 3_600_000 }] }],
    { admin: { token: TEST_ADMIN_TOKEN } },
  );
  const proxy = await startProxy(t, config, { clock, logger: log.logger });
  const admin = buildInstanceAdminApp(proxy, config);
  t.teardown(() => admin.close());
  const gauges = async () => {
    const text = (await admin.inject('/metrics')).body;
    const value = (name: string): number | undefined => {
      type Family = { name: string; metrics: { labels?: Record<string, string>; value?: string }[] };
      const family = (parsePrometheusTextFormat(text) as Family[]).find((f) => f.name === name);
      const sample = family?.metrics.find((m) => m.labels?.['upstream'] === 'salesforce');
      return sample?.value === undefined ? undefined : Number(sample.value);
    };
    return {
      used: value('sidecache_upstream_quota_used'),
      limit: value('sidecache_upstream_quota_limit'),
      near: value('sidecache_upstream_quota_near_limit'),
      saver: value('sidecache_upstream_quota_saver'),
      saved: value('sidecache_upstream_calls_saved_total'),
    };
  };
  const stats = async () => ((await adminInject(admin, '/admin/stats')).json() as { upstreams: Record<string, { quota: Record<string, unknown> }> }).upstreams['salesforce']!.quota;
  return { upstream, proxy, admin, clock, log, usage, gauges, stats, bump: () => (version += 1) };
}

t.test('quota gauges and calls saved, in /metrics and /admin/stats', async (t) => {
  const { proxy, admin, gauges, stats, usage } = await setup(t);
  const before = (await adminInject(admin, '/admin/stats')).json() as { upstreams: Record<string, Record<string, unknown>> };
  t.match(before.upstreams['salesforce'], { requests: 0, errors: 0, coalesced: 0, staleServed: {}, quota: { callsSaved: 0 } }, 'an upstream with no traffic yet has its full summary and its quota');
  usage.used = 18_022;
  t.equal((await proxy.fetch('/salesforce/items/1')).headers['x-cache'], 'MISS');
  t.equal((await proxy.fetch('/salesforce/items/1')).headers['x-cache'], 'HIT');
  t.equal((await proxy.fetch('/salesforce/items/1')).headers['x-cache'], 'HIT');
  t.same(await gauges(), { used: 18_022, limit: 100_000, near: 0, saver: 0, saved: 2 });
  t.match(await stats(), {
    callsSaved: 2,
    callsSavedToday: 2,
    lastReported: { used: 18_022, limit: 100_000, usedRatio: 0.1802, nearLimit: false, at: '2026-01-01T12:00:00.000Z' },
    saver: { on: false },
  });
});

t.test('quota saver: on at 90 %, stale served without upstream calls, off when usage drops', async (t) => {
  const { proxy, upstream, clock, log, usage, gauges, bump } = await setup(t);
  await proxy.fetch('/salesforce/items/1');
  usage.used = 90_000;
  await proxy.fetch('/salesforce/items/2');
  t.equal((await gauges()).saver, 1, 'on at the threshold');
  t.match((await proxy.app.inject('/readyz')).json(), { status: 'ready', upstreams: { salesforce: { quotaSaver: { on: true, reason: 'usage', until: '2026-01-02T00:00:00.000Z' } } } });

  bump();
  clock.advance(20_000);
  const calls = upstream.received.length;
  for (let i = 0; i < 3; i++) {
    const stale = await proxy.fetch('/salesforce/items/1', { headers: i === 2 ? { 'cache-control': 'no-cache' } : {} });
    t.equal(stale.headers['x-cache'], 'STALE');
    t.equal(stale.headers['x-cache-stale-reason'], 'quota');
    t.equal(stale.headers['cache-status'], 'sidecache; hit; fwd=stale; detail=quota-saver');
    t.same(stale.json(), { version: 1, url: '/items/1' });
  }
  t.equal(upstream.received.length, calls, 'no upstream call for stale entries');
  t.equal((await gauges()).saved, 3);
  t.equal((await proxy.fetch('/salesforce/items/3')).headers['x-cache'], 'MISS', 'nothing stored: still fetched');
  t.equal((await proxy.fetch('/salesforce/items/3', { method: 'DELETE' })).status, 200, 'writes are never blocked');

  usage.used = 10_000;
  await proxy.fetch('/salesforce/items/4');
  t.equal((await gauges()).saver, 0, 'off once usage drops');
  const fresh = await proxy.fetch('/salesforce/items/1');
  t.equal(fresh.headers['x-cache'], 'MISS');
  t.same(fresh.json(), { version: 2, url: '/items/1' });
  const changes = log.lines().filter((line) => /quota saver/.test(String(line['msg'])));
  t.same(changes.map((line) => line['msg']), [
    'upstream "salesforce" quota saver on (usage, usage 90000/100000): reads are served from stale entries, refreshes stop',
  ], 'logged once on entry (exit is logged at info)');
});

t.test('quota saver: off when the day rolls over, even without traffic', async (t) => {
  const { proxy, upstream, clock, usage, gauges, stats } = await setup(t);
  usage.used = 99_000;
  await proxy.fetch('/salesforce/items/1');
  t.equal((await gauges()).saver, 1);
  clock.advance(12 * 3_600_000);
  t.equal((await gauges()).saver, 0, 'a new UTC day');
  t.match(await stats(), { saver: { on: false }, callsSavedToday: 0, lastReported: { used: 99_000 } });
  const calls = upstream.received.length;
  t.equal((await proxy.fetch('/salesforce/items/1')).headers['x-cache'], 'MISS', 'the stale entry is refetched again');
  t.equal(upstream.received.length, calls + 1);
});

t.test('a malformed quota field is ignored, counted and logged once', async (t) => {
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('sforce-limit-info', 'api-usage=lots');
    res.end('{}');
  });
  t.teardown(() => upstream.close());
  const log = captureLog();
  const proxy = await startProxy(t, testConfig([{ name: 'salesforce', prefix: '/salesforce', target: upstream.url }]), { logger: log.logger });
  for (let i = 0; i < 3; i++) t.equal((await proxy.fetch('/salesforce/x')).status, 200);
  t.equal(proxy.quotas.get('salesforce')!.state().malformed, 3);
  t.equal(log.lines().filter((line) => /malformed sforce-limit-info/.test(String(line['msg']))).length, 1);
});

t.test('quota saver: refresh-ahead and warming stop; they resume once it is off', async (t) => {
  const usage = { used: 99_000 };
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('sforce-limit-info', `api-usage=${usage.used}/100000`);
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
  const config = testConfig([{ name: 'salesforce', prefix: '/salesforce', target: upstream.url, rules: [{ path: '/hot/:id', ttlMs: 10_000, refreshAhead: true }] }], {
    admin: { token: TEST_ADMIN_TOKEN },
  });
  const proxy = await startProxy(t, config, { clock });
  const admin = buildInstanceAdminApp(proxy, config);
  t.teardown(() => admin.close());
  await proxy.fetch('/salesforce/hot/1');
  await proxy.fetch('/salesforce/hot/1');
  t.equal(proxy.quotas.get('salesforce')!.saving, true);
  clock.advance(9_500);
  t.equal(proxy.refreshAhead.tick(), 0, 'no refresh ahead while saving');

  const warm = await adminInject(admin, { method: 'POST', url: '/admin/warm', payload: { requests: [{ upstream: 'salesforce', path: '/hot/2' }] } });
  t.match(warm.json(), { results: [{ status: null, error: /^quota_saver: upstream "salesforce" is in quota-saver mode/ }], summary: { failed: 1 } });
  t.equal(upstream.received.length, 1, 'nothing was sent upstream');

  usage.used = 10;
  t.equal((await proxy.fetch('/salesforce/hot/3')).headers['x-cache'], 'MISS');
  t.equal(proxy.quotas.get('salesforce')!.saving, false);
  t.equal(proxy.refreshAhead.tick(), 1, 'refresh-ahead resumes');
});

t.test('Jira: X-RateLimit-* read into the gauges; near-limit turns the saver on until the reset', async (t) => {
  let near = false;
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('x-ratelimit-limit', '350');
    res.setHeader('x-ratelimit-remaining', near ? '12' : '300');
    res.setHeader('x-ratelimit-reset', '2026-01-01T12:10:00Z');
    if (near) res.setHeader('x-ratelimit-nearlimit', 'true');
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
  const config = testConfig([{ name: 'jira', prefix: '/jira', target: upstream.url, rules: [{ path: '/issue/:key', ttlMs: 1_000 }] }], { admin: { token: TEST_ADMIN_TOKEN } });
  const proxy = await startProxy(t, config, { clock });
  const admin = buildInstanceAdminApp(proxy, config);
  t.teardown(() => admin.close());
  const quota = async () => ((await adminInject(admin, '/admin/stats')).json() as { upstreams: { jira: { quota: unknown } } }).upstreams.jira.quota;
  await proxy.fetch('/jira/issue/A-1');
  t.match(await quota(), { lastReported: { used: 50, limit: 350, nearLimit: false, resetAt: '2026-01-01T12:10:00.000Z' }, saver: { on: false } });
  near = true;
  await proxy.fetch('/jira/issue/A-2');
  t.match(await quota(), { lastReported: { used: 338, nearLimit: true }, saver: { on: true, reason: 'near_limit', until: '2026-01-01T12:10:00.000Z' } });
  t.match((await admin.inject('/metrics')).body, /sidecache_upstream_quota_near_limit\{upstream="jira"\} 1/);
  clock.advance(2_000);
  t.equal((await proxy.fetch('/jira/issue/A-1')).headers['x-cache-stale-reason'], 'quota');
  clock.advance(10 * 60_000);
  t.match(await quota(), { saver: { on: false } }, 'off at X-RateLimit-Reset');
});
