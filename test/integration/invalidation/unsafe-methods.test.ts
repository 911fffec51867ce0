import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig, type RuleInput } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, rawExchange } from '../forwarding/raw-http.js';

/**
 * Reads answer 200; a write to `/things/:id?status=N&location=L&content-location=C` answers N
 * (default 204) with those fields.
 */
async function things() {
  return startFakeUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'GET') return void res.end(`${url.pathname} ${Date.now()}`);
    const headers: Record<string, string> = {};
    for (const name of ['location', 'content-location']) {
      const value = url.searchParams.get(name);
      if (value !== null) headers[name] = value;
    }
    res.writeHead(Number(url.searchParams.get('status') ?? 204), headers);
    res.end();
  });
}

async function setup(t: Test, rules: RuleInput[] = [{ path: '/things/:id' }]) {
  const upstream = await things();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules }]));
  const port = (proxy.app.server.address() as AddressInfo).port;
  const send = (method: string, target: string, host = 'sidecache:8443') =>
    rawExchange(port, head(`${method} /api${target} HTTP/1.1`, `Host: ${host}`, 'Content-Length: 0', 'Connection: close'), { head: method === 'HEAD' });
  /** Reads each path, so it is stored. */
  const warm = async (...paths: string[]) => {
    for (const path of paths) await proxy.fetch(`/api${path}`);
  };
  const cached = async (path: string) => (await proxy.fetch(`/api${path}`)).headers['x-cache'] === 'HIT';
  const writes = () => upstream.received.filter((r) => r.method !== 'GET').map((r) => r.method);
  return { upstream, proxy, send, warm, cached, writes };
}

t.test('RFC 9111 §4.4: an extension method answered 2xx invalidates its target URI', async (t) => {
  const { proxy, send, warm, cached, writes } = await setup(t);
  for (const method of ['PROPPATCH', 'MOVE', 'LOCK', 'PURGE']) {
    await warm('/things/1?view=a', '/things/2');
    t.ok(await cached('/things/1?view=a'));
    const response = await send(method, '/things/1?status=207');
    t.equal(response.status, 207, method);
    t.notOk(await cached('/things/1?view=a'), `${method}: the target is refetched (any query)`);
    t.ok(await cached('/things/2'), `${method}: other URIs are kept`);
  }
  t.same(writes(), ['PROPPATCH', 'MOVE', 'LOCK', 'PURGE'], 'each write reached the upstream once');
  t.equal(proxy.invalidator.counts.write, 4);
});

t.test('RFC 9111 §4.4: a 3xx invalidates, a 4xx or 5xx does not', async (t) => {
  const { proxy, send, warm, cached, writes } = await setup(t);
  await warm('/things/1');
  t.equal((await send('POST', '/things/1?status=404')).status, 404);
  t.equal((await send('DELETE', '/things/1?status=503')).status, 503);
  t.ok(await cached('/things/1'), 'an error answer invalidates nothing');
  t.equal((await send('POST', '/things/1?status=303&location=/things/9')).status, 303);
  t.notOk(await cached('/things/1'), 'a 303 invalidates');
  t.same(writes(), ['POST', 'DELETE', 'POST']);
  t.equal(proxy.invalidator.counts.write, 1);
});

t.test('RFC 9110 §9.2.1: safe methods, WebDAV\'s included, invalidate nothing', async (t) => {
  const { proxy, send, warm, cached, upstream } = await setup(t);
  await warm('/things/1');
  for (const method of ['HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH']) {
    t.equal((await send(method, '/things/1?status=200')).status, 200, method);
  }
  t.ok(await cached('/things/1'));
  t.same(upstream.received.map((r) => r.method), ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH'], 'each reached the upstream');
  t.equal(proxy.invalidator.counts.write, 0);
});

t.test('RFC 9111 §4.4: same-upstream Location and Content-Location URIs are invalidated, other hosts\' are not', async (t) => {
  const { send, warm, cached, writes } = await setup(t);
  await warm('/things/2', '/things/3', '/things/4', '/things/5', '/things/6', '/things/7');
  const created = await send('POST', `/things/new?status=201&location=${encodeURIComponent('/things/2')}&content-location=${encodeURIComponent('3')}`);
  t.equal(created.status, 201);
  t.same(created.all('location'), ['/things/2'], 'the field reaches the client as the upstream sent it');
  t.notOk(await cached('/things/2'), 'Location, relative to the upstream request');
  t.notOk(await cached('/things/3'), 'Content-Location, relative to the upstream request');
  await send('PUT', `/things/x?location=${encodeURIComponent('https://sidecache:8443/api/things/4')}`);
  t.notOk(await cached('/things/4'), "the proxy's own origin (Host), below the upstream's prefix");
  await send('PUT', `/things/x?location=${encodeURIComponent('http://elsewhere.example/api/things/5')}`);
  await send('PUT', `/things/x?location=${encodeURIComponent('https://sidecache:8443/other/things/6')}`);
  await send('PUT', `/things/x?content-location=${encodeURIComponent('https://sidecache:9999/api/things/7')}`);
  t.ok(await cached('/things/5'), 'another host');
  t.ok(await cached('/things/6'), "the proxy's origin outside the upstream's prefix");
  t.ok(await cached('/things/7'), 'another port');
  t.same(writes(), ['POST', 'PUT', 'PUT', 'PUT', 'PUT']);
});

t.test("RFC 9111 §4.4: a Location on the upstream's own origin is invalidated", async (t) => {
  const { upstream, send, warm, cached } = await setup(t);
  await warm('/things/8');
  await send('PATCH', `/things/x?location=${encodeURIComponent(`${upstream.url}/things/8`)}`);
  t.notOk(await cached('/things/8'));
  t.equal(upstream.received.filter((r) => r.method === 'PATCH').length, 1);
});

t.test('a rule\'s invalidates tags still fire on 2xx only; its URI on 2xx and 3xx', async (t) => {
  const { send, warm, cached } = await setup(t, [
    { path: '/things/:id', tags: ['thing'] },
    { path: '/things/:id', methods: ['POST'], cache: false, invalidates: ['thing'] },
  ]);
  await warm('/things/1', '/things/2');
  await send('POST', '/things/1?status=303');
  t.notOk(await cached('/things/1'), 'the URI on a 303');
  t.ok(await cached('/things/2'), 'tags not on a 303');
  await send('POST', '/things/1?status=201');
  t.notOk(await cached('/things/2'), 'tags on a 201');
});
