import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type UpstreamHandler } from '../../helpers/fake-upstream.js';

function counting(status: number, headers: Record<string, string> = {}): UpstreamHandler {
  let n = 0;
  return (_req, res) => {
    n += 1;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(`response ${n}`);
  };
}

t.test('the rule overrides an upstream Cache-Control: no-cache by default (Salesforce sends it on everything)', async (t) => {
  const upstream = await startFakeUpstream(counting(200, { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' }));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/x' }] }]));
  await proxy.fetch('/api/x');
  const hit = await proxy.fetch('/api/x');
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['cache-control'], 'no-cache,must-revalidate,max-age=0,no-store,private', 'the upstream header is still passed on');
});

t.test('respectCacheControl honours no-store and max-age', async (t) => {
  const upstream = await startFakeUpstream(counting(200, { 'cache-control': 'no-store' }));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/x', respectCacheControl: true }] }]), fakeClock());
  await proxy.fetch('/api/x');
  const second = await proxy.fetch('/api/x');
  t.equal(second.headers['x-cache'], 'MISS');
  t.equal(second.headers['cache-status'], 'sidecache; fwd=uri-miss; fwd-status=200; detail=no-store');

  upstream.handle(counting(200, { 'cache-control': 'max-age=60' }));
  await proxy.fetch('/api/x');
  const hit = await proxy.fetch('/api/x');
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['cache-status'], 'sidecache; hit; ttl=60', 'the upstream max-age sets the ttl');
});

t.test('a response with Set-Cookie is never stored', async (t) => {
  const upstream = await startFakeUpstream(counting(200, { 'set-cookie': 'a=b' }));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/x' }] }]));
  await proxy.fetch('/api/x');
  const second = await proxy.fetch('/api/x');
  t.equal(second.headers['x-cache'], 'MISS');
  t.equal(second.headers['set-cookie'], 'a=b');
  t.equal(upstream.received.length, 2);
});

t.test('only the rule’s statuses are stored; 404 only with negative caching', async (t) => {
  const upstream = await startFakeUpstream(counting(500));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/plain/:id' }, { path: '/neg/:id', negativeTtlMs: 30_000 }] }]),
    fakeClock(),
  );
  await proxy.fetch('/api/plain/1');
  const error = await proxy.fetch('/api/plain/1');
  t.equal(error.status, 500);
  t.equal(error.headers['cache-status'], 'sidecache; fwd=uri-miss; fwd-status=500; detail=status');

  upstream.handle(counting(404));
  await proxy.fetch('/api/plain/2');
  t.equal((await proxy.fetch('/api/plain/2')).headers['x-cache'], 'MISS', '404 is not cached by default');
  await proxy.fetch('/api/neg/2');
  const negative = await proxy.fetch('/api/neg/2');
  t.equal(negative.status, 404);
  t.equal(negative.headers['x-cache'], 'HIT');
  t.equal(negative.headers['cache-status'], 'sidecache; hit; ttl=30');
});

t.test('client Cache-Control: no-cache forces a refetch that refreshes the entry', async (t) => {
  const upstream = await startFakeUpstream(counting(200));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/x' }] }]));
  await proxy.fetch('/api/x');
  const forced = await proxy.fetch('/api/x', { headers: { 'cache-control': 'no-cache' } });
  t.equal(forced.headers['x-cache'], 'MISS');
  t.equal(forced.headers['cache-status'], 'sidecache; fwd=request; fwd-status=200; stored');
  t.equal(forced.body.toString(), 'response 2');
  const after = await proxy.fetch('/api/x');
  t.equal(after.headers['x-cache'], 'HIT');
  t.equal(after.body.toString(), 'response 2', 'the refetch refreshed the entry');
  const pragma = await proxy.fetch('/api/x', { headers: { pragma: 'no-cache' } });
  t.equal(pragma.body.toString(), 'response 3', 'Pragma: no-cache works too');
});

t.test('clientNoCache: ignore serves the cache despite client no-cache', async (t) => {
  const upstream = await startFakeUpstream(counting(200));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, clientNoCache: 'ignore', rules: [{ path: '/x' }] }]));
  await proxy.fetch('/api/x');
  const response = await proxy.fetch('/api/x', { headers: { 'cache-control': 'no-cache' } });
  t.equal(response.headers['x-cache'], 'HIT');
  t.equal(upstream.received.length, 1);
});

t.test('client Cache-Control: no-store bypasses the cache entirely', async (t) => {
  const upstream = await startFakeUpstream(counting(200));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/x' }] }]));
  const bypass = await proxy.fetch('/api/x', { headers: { 'cache-control': 'no-store' } });
  t.equal(bypass.headers['x-cache'], 'BYPASS');
  t.equal(bypass.headers['cache-status'], 'sidecache; fwd=bypass; detail=no-store');
  t.equal((await proxy.fetch('/api/x')).headers['x-cache'], 'MISS', 'nothing was stored by the no-store request');
});

t.test('a response whose Vary names a header outside the key is not stored', async (t) => {
  const upstream = await startFakeUpstream(counting(200, { vary: 'Accept-Encoding, X-Custom' }));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/x' }] }]));
  await proxy.fetch('/api/x');
  const second = await proxy.fetch('/api/x');
  t.equal(second.headers['x-cache'], 'MISS');
  t.match(String(second.headers['cache-status']), /detail=vary/);
});
