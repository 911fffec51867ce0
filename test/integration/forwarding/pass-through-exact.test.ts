import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, RawConnection, rawExchange } from './raw-http.js';

/** Headers the upstream client (undici) adds or frames itself, not copied from the client. */
const FRAMING = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);

function pairs(rawHeaders: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return out;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

t.test('methods, paths and queries reach the upstream byte for byte', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  const targets = [
    '/items/a%20b?q=a+b&q=c%20d&q=a+b',
    '/items/%E2%9C%93/%F0%9F%98%80?name=%C3%A9t%C3%A9&x=%E2%82%AC&x=%e2%82%ac',
    '/items?empty=&flag&a=1&a=2&a=1&plus=1+1%2B1',
    '/items/%7Euser;v=1?sort=-name,created&filter[a]=b&%5Bk%5D=%5Bv%5D',
    '/Mixed/CASE/trailing/',
  ];
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    for (const target of targets) {
      const before = upstream.received.length;
      const response = await rawExchange(port, head(`${method} /api${target} HTTP/1.1`, 'Host: sidecache', 'Connection: close'));
      t.equal(response.status, 200, `${method} ${target}`);
      t.equal(upstream.received.length, before + 1);
      const got = upstream.received.at(-1)!;
      t.equal(got.method, method, `${method} ${target}: method`);
      t.equal(got.url, target, `${method} ${target}: url`);
    }
  }
});

t.test('an empty query ("?" with nothing after it) is forwarded as sent', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;
  const response = await rawExchange(port, head('GET /api/items? HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.equal(response.status, 200);
  // RFC 3986 §6.2.3: an empty component's delimiter is not removed unless the scheme says so.
  t.equal(upstream.received[0]?.url, '/items?');
});

t.test('request headers are forwarded byte for byte minus hop-by-hop, with the upstream rewrite applied', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, requestHeaders: { add: { 'x-api-key': 'server-key' }, remove: ['x-remove-me'] } }]),
  );
  const port = (proxy.app.server.address() as AddressInfo).port;

  const connection = await RawConnection.open(port);
  t.teardown(() => connection.destroy());
  connection.write(
    head(
      'GET /api/headers HTTP/1.1',
      'Host: sidecache.example',
      'X-Custom: Value With  Inner  Spaces',
      'x-multi: one',
      'X-Multi: two',
      'Connection: x-drop, keep-alive',
      'X-Drop: gone',
      'Keep-Alive: timeout=5',
      'Proxy-Connection: keep-alive',
      'TE: trailers',
      'Trailer: x-t',
      'Proxy-Authorization: Basic c2VjcmV0',
      'Authorization: Bearer token-1',
      'X-Remove-Me: please',
      'X-Api-Key: client-key',
      'Accept: application/json;q=0.9, */*;q=0.1',
      'x-request-id: abc-123',
      'Cookie: a=1; b=2',
    ),
  );
  const response = await connection.readResponse();
  t.equal(response.status, 200);
  t.equal(response.all('x-request-id')[0], 'abc-123');

  const got = upstream.received[0]!;
  t.equal(got.headers.host, `127.0.0.1:${upstream.port}`, 'host is the upstream authority');
  t.same(
    pairs(got.rawHeaders).filter(([name]) => !FRAMING.has(name.toLowerCase())),
    [
      ['X-Custom', 'Value With  Inner  Spaces'],
      ['x-multi', 'one'],
      ['X-Multi', 'two'],
      ['Authorization', 'Bearer token-1'],
      ['Accept', 'application/json;q=0.9, */*;q=0.1'],
      ['Cookie', 'a=1; b=2'],
      ['x-api-key', 'server-key'],
      ['x-request-id', 'abc-123'],
    ],
    'exact names, values, order and multiplicity',
  );
  t.equal(pairs(got.rawHeaders).filter(([name]) => name.toLowerCase() === 'host').length, 1, 'exactly one host');
  for (const dropped of ['x-drop', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'proxy-authorization', 'x-remove-me']) {
    t.notOk(dropped in got.headers, `${dropped} not forwarded`);
  }
  t.not(got.headers.connection, 'x-drop, keep-alive', 'the client Connection header is not forwarded');

  // A second request on the same client connection still works (keep-alive honoured).
  connection.write(head('GET /api/again HTTP/1.1', 'Host: sidecache.example'));
  const again = await connection.readResponse();
  t.equal(again.status, 200);
  t.equal(upstream.received[1]!.url, '/again');
  t.match(upstream.received[1]!.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a generated request id is forwarded');
  t.equal(upstream.received[1]!.headers['x-request-id'], again.all('x-request-id')[0]);
});

t.test('HEAD is forwarded as HEAD and answered without a body', async (t) => {
  const upstream = await startFakeUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11', etag: '"h"' });
    res.end(req.method === 'HEAD' ? undefined : 'hello world');
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const connection = await RawConnection.open((proxy.app.server.address() as AddressInfo).port);
  t.teardown(() => connection.destroy());
  connection.write(head('HEAD /api/doc HTTP/1.1', 'Host: s'));
  const response = await connection.readResponse({ head: true });
  t.equal(response.status, 200);
  t.equal(upstream.received[0]?.method, 'HEAD');
  t.equal(response.all('content-length')[0], '11', 'content-length of the representation is kept');
  t.equal(response.all('etag')[0], '"h"');
  connection.write(head('GET /api/doc HTTP/1.1', 'Host: s'));
  const next = await connection.readResponse();
  t.equal(next.body.toString(), 'hello world', 'the connection is in sync after HEAD');
  t.equal(connection.pending.length, 0);
});

t.test('Expect: 100-continue is answered by sidecache and not forwarded', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const connection = await RawConnection.open((proxy.app.server.address() as AddressInfo).port);
  t.teardown(() => connection.destroy());
  connection.write(head('POST /api/upload HTTP/1.1', 'Host: s', 'Content-Length: 5', 'Expect: 100-continue'));
  const deadline = Date.now() + 2000;
  while (!connection.pending.toString('latin1').startsWith('HTTP/1.1 100') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.match(connection.pending.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n/, 'interim 100 Continue');
  connection.write('hello');
  const response = await connection.readResponse();
  t.equal(response.status, 200);
  t.equal(upstream.received[0]?.body.toString(), 'hello');
  t.notOk('expect' in upstream.received[0]!.headers, 'expect is not forwarded');
});

t.test('binary bodies pass both ways unchanged', async (t) => {
  const upstream = await startFakeUpstream((_req, res, body) => {
    res.setHeader('content-type', 'application/octet-stream');
    res.end(Buffer.concat([Buffer.from(body).reverse(), ALL_BYTES]));
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));

  const payload = Buffer.concat([ALL_BYTES, ALL_BYTES.subarray().reverse(), Buffer.from('\r\n\r\n0\r\n\r\n'), ALL_BYTES]);
  for (const method of ['POST', 'PUT', 'PATCH']) {
    const response = await proxy.fetch('/api/blob', { method, body: payload, headers: { 'content-type': 'application/octet-stream' } });
    t.equal(response.status, 200);
    t.ok(upstream.received.at(-1)!.body.equals(payload), `${method}: upstream got the exact bytes`);
    t.ok(response.body.equals(Buffer.concat([Buffer.from(payload).reverse(), ALL_BYTES])), `${method}: client got the exact bytes`);
    t.equal(response.headers['content-type'], 'application/octet-stream');
  }
});

t.test('status codes pass through, with no body where none is allowed', async (t) => {
  const upstream = await startFakeUpstream((req, res) => {
    const status = Number(req.url!.slice(1));
    if (status === 304) {
      res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
      res.end();
    } else if (status === 204) {
      res.writeHead(204, { 'x-kind': 'empty' });
      res.end();
    } else {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}`);
    }
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  for (const status of [201, 404, 500, 418, 503]) {
    const response = await proxy.fetch(`/api/${status}`);
    t.equal(response.status, status);
    t.equal(response.body.toString(), `status ${status}`);
    t.equal(response.headers['x-cache'], 'BYPASS');
  }

  // 204 and 304 on one keep-alive connection: a stray body or chunk would corrupt the next response.
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.destroy());
  connection.write(head('GET /api/204 HTTP/1.1', 'Host: s'));
  const noContent = await connection.readResponse();
  connection.write(head('GET /api/304 HTTP/1.1', 'Host: s', 'If-None-Match: "v1"'));
  const notModified = await connection.readResponse();
  connection.write(head('GET /api/201 HTTP/1.1', 'Host: s'));
  const created = await connection.readResponse();

  t.equal(noContent.status, 204);
  t.same(noContent.all('transfer-encoding'), [], '204 has no transfer-encoding');
  t.equal(noContent.all('x-kind')[0], 'empty');
  t.equal(notModified.status, 304);
  t.same(notModified.all('transfer-encoding'), [], '304 has no transfer-encoding');
  t.equal(notModified.all('etag')[0], '"v1"');
  t.equal(upstream.received.find((r) => r.url === '/304')!.headers['if-none-match'], '"v1"');
  t.equal(created.status, 201, 'the connection is still in sync after 204 and 304');
  t.equal(created.body.toString(), 'status 201');
  t.equal(connection.pending.length, 0, 'no stray bytes on the connection');
});

t.test('repeated response headers keep their multiplicity; hop-by-hop ones are dropped', async (t) => {
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Secure']);
    res.setHeader('x-dup', ['a', 'b']);
    res.setHeader('connection', 'keep-alive, x-hop');
    res.setHeader('x-hop', 'connection-scoped');
    res.setHeader('keep-alive', 'timeout=60');
    res.setHeader('proxy-authenticate', 'Basic realm="upstream"');
    res.setHeader('content-type', 'text/plain');
    res.end('ok');
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  const response = await rawExchange(port, head('GET /api/cookies HTTP/1.1', 'Host: s', 'Connection: close'));
  t.equal(response.status, 200);
  t.same(response.all('set-cookie'), ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; Secure']);
  t.same(response.all('x-dup'), ['a', 'b'], 'x-dup arrives as two separate fields');
  t.same(response.all('x-hop'), [], 'a field named in the upstream Connection header is dropped');
  t.same(response.all('proxy-authenticate'), [], 'proxy-authenticate is dropped');
  t.notOk(response.all('keep-alive').includes('timeout=60'), "the upstream's keep-alive parameters are not relayed");
  t.equal(response.body.toString(), 'ok');
});
