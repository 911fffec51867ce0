import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { SECRET, shippedUpstream, signed } from './fixtures.js';

const PATHS = ['/hooks/jira', '/hooks/salesforce/cdc', '/hooks/salesforce/outbound', '/hooks/invalidate'];

t.test('a change feed whose secret is unset has no route: 404', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([shippedUpstream('salesforce', upstream.url), shippedUpstream('jira', upstream.url)]));
  for (const path of PATHS) {
    const response = await proxy.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    t.equal(response.status, 404, path);
    t.match(response.json(), { error: 'no_upstream' });
  }
  t.equal(upstream.received.length, 0);
});

t.test('outbound messages also need the org id; the CDC relay does not', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([shippedUpstream('salesforce', upstream.url)], { hooks: { salesforce: { secret: SECRET, organizationId: null, upstream: 'salesforce' } } }),
  );
  t.equal((await proxy.fetch('/hooks/salesforce/cdc', { method: 'POST', body: '[]' })).status, 401);
  t.equal((await proxy.fetch(`/hooks/salesforce/outbound?secret=${SECRET}`, { method: 'POST', body: '<x/>' })).status, 404);
});

t.test('only POST reaches a hook; the signature is over the raw bytes whatever the content type', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([shippedUpstream('jira', upstream.url)], { hooks: { jira: { secret: SECRET, upstream: 'jira' } } }));
  t.equal((await proxy.fetch('/hooks/jira')).status, 404, 'GET is not a delivery');
  const body = JSON.stringify({ webhookEvent: 'jira:issue_updated', issue: { key: 'PROJ-1', id: '10001' } });
  for (const contentType of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
    const response = await proxy.fetch('/hooks/jira', { method: 'POST', headers: signed(body, 'x-hub-signature', SECRET, contentType), body });
    t.equal(response.status, 200, contentType);
  }
  const empty = await proxy.fetch('/hooks/jira', { method: 'POST', headers: signed('', 'x-hub-signature') });
  t.equal(empty.status, 400);
  t.match(empty.json(), { message: 'body: empty; expected JSON' });
});

t.test('under an upstream mounted at "/", an enabled hook answers its own path and the rest is proxied', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const root = { name: 'root', prefix: '/', target: upstream.url, rules: [] };
  const proxy = await startProxy(t, testConfig([root, shippedUpstream('jira', upstream.url)], { hooks: { jira: { secret: SECRET, upstream: 'jira' } } }));
  t.equal((await proxy.fetch('/hooks/jira', { method: 'POST', body: '{}' })).status, 401, 'the hook, not the upstream');
  t.equal((await proxy.fetch('/hooks/invalidate', { method: 'POST', body: '{}' })).status, 200, 'a feed that is off: the upstream at "/"');
  t.same(upstream.received.map((r) => `${r.method} ${r.url}`), ['POST /hooks/invalidate']);
});

t.test('the Invalidator counts hook deliveries under their own source', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([shippedUpstream('jira', upstream.url)], { hooks: { generic: { secret: SECRET } } }));
  const body = JSON.stringify({ tags: ['jira:search'] });
  t.equal((await proxy.fetch('/hooks/invalidate', { method: 'POST', headers: signed(body), body })).status, 200);
  t.same(proxy.invalidator.counts, { write: 0, admin: 0, hook: 1 });
  t.match(await proxy.metrics.scrape(), /sidecache_invalidations_total\{source="hook"\} 1/);
  t.match(await proxy.metrics.scrape(), /sidecache_hook_deliveries_total\{source="generic",outcome="invalidated"\} 1/);
});
