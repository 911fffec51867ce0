import { METHODS } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildInstanceAdminApp } from '../../../src/admin/instance.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, RawConnection, rawExchange } from './raw-http.js';

/** Every method Node's parser accepts; CONNECT is a tunnel, never a request to forward. */
const FORWARDABLE = METHODS.filter((method) => method !== 'CONNECT');

t.test('RFC 9110 §9.1: every method Node parses, extension methods included, is forwarded as sent', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  for (const method of FORWARDABLE) {
    const before = upstream.received.length;
    // QUERY is refused by Fastify without a Content-Type (RFC 10008 §2), so every request names one.
    const response = await rawExchange(port, head(`${method} /api/things/1?a=b HTTP/1.1`, 'Host: sidecache', 'Content-Type: text/plain', 'Connection: close'), {
      head: method === 'HEAD',
    });
    t.equal(response.status, 200, `${method}: the upstream's answer`);
    t.equal(upstream.received.length, before + 1, `${method}: one upstream request`);
    t.equal(upstream.received.at(-1)?.method, method, `${method}: sent as the same method`);
    t.equal(upstream.received.at(-1)?.url, '/things/1?a=b', `${method}: to the same target`);
    if (method !== 'GET' && method !== 'HEAD') t.equal(response.all('x-cache')[0], 'BYPASS', `${method}: a pass-through`);
  }
});

t.test('RFC 9111 §3: an extension method on a cached path is passed through, never answered or stored from the cache', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  t.equal((await proxy.fetch('/api/items/1')).headers['x-cache'], 'MISS');
  t.equal((await proxy.fetch('/api/items/1')).headers['x-cache'], 'HIT');
  for (const method of ['PROPFIND', 'REPORT', 'PURGE', 'PROPFIND']) {
    const response = await rawExchange(port, head(`${method} /api/items/1 HTTP/1.1`, 'Host: sidecache', 'Connection: close'));
    t.equal(response.status, 200, method);
    t.equal(response.all('x-cache')[0], 'BYPASS', method);
    t.same(response.json(), { method, url: '/items/1', bodyLength: 0, at: (response.json() as { at: number }).at }, `${method}: the upstream's own answer`);
  }
  t.same(
    upstream.received.map((r) => r.method),
    ['GET', 'PROPFIND', 'REPORT', 'PURGE', 'PROPFIND'],
    'each extension request reached the upstream; the GET once',
  );
});

t.test('an extension method body above requestBody.bufferUpTo streams to the upstream as a POST body does', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  upstream.streamEcho();
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url }], {
      server: { requestBody: { idleTimeoutMs: 10_000, minBytesPerSecond: 1024, minRateAfterMs: 10_000, bufferUpToBytes: 64 * 1024 } },
    }),
  );
  const port = (proxy.app.server.address() as AddressInfo).port;
  const total = 1024 * 1024;
  const first = Buffer.alloc(128 * 1024, 'a');
  const rest = Buffer.alloc(total - first.length, 'b');

  for (const method of ['PROPPATCH', 'MKCOL', 'REPORT']) {
    const before = upstream.received.length;
    const connection = await RawConnection.open(port);
    t.teardown(() => connection.destroy());
    connection.write(head(`${method} /api/dav/x HTTP/1.1`, 'Host: sidecache', 'Content-Type: application/xml', `Content-Length: ${total}`, 'Connection: close'));
    connection.write(first);
    // The upstream has the request while most of the body is still with the client: it streams.
    const deadline = Date.now() + 5000;
    while (upstream.received.length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    t.equal(upstream.received.length, before + 1, `${method}: forwarded before the body was complete`);
    t.equal(upstream.received.at(-1)?.method, method);
    connection.write(rest);
    const response = await connection.readResponse();
    t.equal(response.status, 200);
    t.equal(response.body.length, total, `${method}: every byte went through`);
    t.ok(response.body.subarray(0, first.length).equals(first) && response.body.subarray(first.length).equals(rest), `${method}: in order`);
  }
});

t.test('a chunked extension method body is forwarded whole', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;
  const response = await rawExchange(
    port,
    head('PROPPATCH /api/dav/y HTTP/1.1', 'Host: sidecache', 'Content-Type: application/xml', 'Transfer-Encoding: chunked', 'Connection: close') +
      '5\r\n<a/>\n\r\n3\r\n<b>\r\n0\r\n\r\n',
  );
  t.equal(response.status, 200);
  t.equal(upstream.received.length, 1);
  t.equal(upstream.received[0]?.method, 'PROPPATCH');
  t.equal(upstream.received[0]?.body.toString(), '<a/>\n<b>');
});

t.test('the hit lane and the health routes keep their methods; a PROPFIND of /healthz is forwarded like any path', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, prefix: '/', rules: [{ path: '/items/:id' }] }]));
  const port = (proxy.app.server.address() as AddressInfo).port;
  await proxy.fetch('/items/1');
  const served = proxy.hitLane.served;
  t.equal((await proxy.fetch('/items/1')).headers['x-cache'], 'HIT');
  t.equal(proxy.hitLane.served, served + 1, 'a GET hit is the lane\'s');
  const propfind = await rawExchange(port, head('PROPFIND /items/1 HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.equal(propfind.all('x-cache')[0], 'BYPASS');
  t.equal(proxy.hitLane.served, served + 1, 'a PROPFIND is not');
  t.equal((await proxy.fetch('/healthz')).status, 200, 'GET /healthz is still answered by sidecache');
  const before = upstream.received.length;
  await rawExchange(port, head('PROPFIND /healthz HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.equal(upstream.received.length, before + 1);
  t.equal(upstream.received.at(-1)?.method, 'PROPFIND');
});

t.test("the admin listener keeps Fastify's own method table: an extension method there is not found", async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url }]);
  const proxy = await startProxy(t, config);
  const admin = buildInstanceAdminApp(proxy, config);
  t.teardown(() => admin.close());
  t.notOk(admin.supportedMethods.includes('PROPFIND'), 'PROPFIND is not routed by the admin instance');
  t.ok(proxy.app.supportedMethods.includes('PROPFIND'), 'while the proxy instance routes it');
  const response = await admin.inject({ method: 'PROPFIND' as 'GET', url: '/healthz' });
  t.equal(response.statusCode, 404);
  t.equal(upstream.received.length, 0, 'nothing was forwarded');
});
