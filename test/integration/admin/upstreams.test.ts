import t from 'tap';
import { buildInstanceAdminApp } from '../../../src/admin/instance.js';
import { buildApp } from '../../../src/app.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const RULES = [
  // A templated action: each request's action is filled from the path.
  { name: 'item', path: '/items/:id', scope: 'shared' as const, action: 'api.item.{id}.read', tags: ['item:{id}'] },
  { name: 'search', path: '/search', scope: 'shared' as const },
  { name: 'limits', path: '/limits', cache: false },
];

interface View {
  window: string;
  trafficSource: string;
  trafficError?: string;
  upstreams: Array<{ name: string; prefix: string; enabled: boolean; rules: Array<{ name: string; ttlSeconds: number; tags: string[]; traffic: Record<string, number | null> | null }>; unmatched: Record<string, number | null> | null }>;
}

t.test('GET /admin/upstreams: rules with traffic and hit ratio per rule from the audit trail', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { migrate: false });
  const upstream = await startFakeUpstream((req, res) => {
    res.statusCode = req.url === '/search?fail=1' ? 500 : 200;
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  t.teardown(() => upstream.close());
  const config = testConfig(
    [
      { target: upstream.url, rules: RULES },
      { name: 'off', prefix: '/off', target: null, rules: [{ path: '/x' }] },
    ],
    { database: { url: db.url! }, audit: { enabled: true, flushIntervalMs: 20, spoolDir: t.testdir({}) }, admin: { token: TEST_ADMIN_TOKEN } },
  );
  const sidecache = await buildApp(config, { logger: false, processMetrics: false });
  const admin = buildInstanceAdminApp(sidecache, config, { shareLogger: false, consoleDir: null });
  t.teardown(async () => {
    await admin.close();
    await sidecache.app.close();
  });

  // item: 2 MISS + 3 HIT; search: 1 MISS, 1 HIT, 1 upstream 500; limits: 2 pass-through; no rule: 1.
  for (const path of ['/api/items/1', '/api/items/2', '/api/items/1', '/api/items/1', '/api/items/2', '/api/search?q=1', '/api/search?q=1', '/api/search?fail=1', '/api/limits', '/api/limits', '/api/other']) {
    await sidecache.app.inject(path);
  }
  let view: View | undefined;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    view = (await adminInject(admin, '/admin/upstreams?window=1h')).json() as View;
    const total = view.upstreams[0]!.rules.reduce((sum, rule) => sum + Number(rule.traffic?.requests ?? 0), 0) + Number(view.upstreams[0]!.unmatched?.requests ?? 0);
    if (total >= 11) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(view!.window, '1h');
  t.equal(view!.trafficSource, 'audit');
  const [api, off] = view!.upstreams;
  t.match(api, { name: 'api', prefix: '/api', enabled: true });
  t.same(
    api!.rules.map((rule) => [rule.name, rule.traffic]),
    [
      ['item', { requests: 5, errors: 0, hits: 3, cacheable: 5, hitRatio: 0.6 }],
      ['search', { requests: 3, errors: 1, hits: 1, cacheable: 3, hitRatio: 0.3333 }], // the 500 was a MISS too
      ['limits', { requests: 2, errors: 0, hits: 0, cacheable: 0, hitRatio: null }],
    ],
    'per rule, templated actions folded back into their rule',
  );
  t.same(api!.unmatched, { requests: 1, errors: 0, hits: 0, cacheable: 0, hitRatio: null }, 'requests no rule matched');
  t.same(api!.rules[0]!.tags, ['item:{id}']);
  t.equal(api!.rules[0]!.ttlSeconds, 300);
  t.match(off, { name: 'off', enabled: false, rules: [{ name: 'rule0', traffic: { requests: 0 } }] });
  t.notMatch(JSON.stringify(view), new RegExp(upstream.url.replace(/[.]/g, '\\.')), 'targets are never included');

  t.equal((await admin.inject('/admin/upstreams')).statusCode, 401, 'behind the token');
  const bad = await adminInject(admin, '/admin/upstreams?window=forever');
  t.equal(bad.statusCode, 400);
  t.match(bad.json().message, /^window: /);
  t.equal((await adminInject(admin, '/admin/upstreams?x=1')).statusCode, 400, 'unknown parameters are refused');
});

t.test('without an audit database the rules are listed with traffic null', async (t) => {
  const config = testConfig([{ target: 'http://127.0.0.1:9', rules: RULES }], { admin: { token: TEST_ADMIN_TOKEN } });
  const sidecache = await buildApp(config, { logger: false, processMetrics: false });
  const admin = buildInstanceAdminApp(sidecache, config, { shareLogger: false, consoleDir: null });
  t.teardown(async () => {
    await admin.close();
    await sidecache.app.close();
  });
  const view = (await adminInject(admin, '/admin/upstreams')).json() as View;
  t.equal(view.window, '1h', 'default window');
  t.equal(view.trafficSource, 'unavailable');
  t.match(view.trafficError, /no audit database/);
  t.same(view.upstreams[0]!.rules.map((rule) => rule.traffic), [null, null, null]);
  t.equal(view.upstreams[0]!.unmatched, null);
});
