import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { head, RawConnection, rawExchange, type RawResponse } from './raw-http.js';

function proxyPort(proxy: RunningProxy): number {
  return (proxy.app.server.address() as AddressInfo).port;
}

async function setup(t: Test, overrides: Parameters<typeof testConfig>[1] = {}): Promise<{ upstream: FakeUpstream; proxy: RunningProxy; port: number }> {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }], overrides));
  return { upstream, proxy, port: proxyPort(proxy) };
}

function get(target: string): string {
  return head(`GET ${target} HTTP/1.1`, 'Host: sidecache', 'Connection: close');
}

function assertRefused(t: Test, response: RawResponse, status: number, code: string, label: string): void {
  t.equal(response.status, status, `${label}: status ${status}`);
  const body = response.json() as { error: string; requestId: string };
  t.equal(body.error, code, `${label}: ${code}`);
  t.equal(body.requestId, response.all('x-request-id')[0], `${label}: requestId matches x-request-id`);
}

t.test('absolute-form targets are refused, never fetched', async (t) => {
  const { upstream, port } = await setup(t);
  for (const target of [
    `http://127.0.0.1:${upstream.port}/x`,
    `http://127.0.0.1:${upstream.port}/api/x`,
    `HTTP://127.0.0.1:${upstream.port}/api/x`,
    `https://127.0.0.1:${upstream.port}/api/x`,
  ]) {
    const response = await rawExchange(port, get(target));
    assertRefused(t, response, 400, 'bad_request_target', target);
  }
  t.equal(upstream.received.length, 0, 'the upstream received nothing');
});

t.test('CONNECT never opens a tunnel', async (t) => {
  const { upstream, port } = await setup(t);
  const connection = await RawConnection.open(port);
  t.teardown(() => connection.destroy());
  connection.write(head(`CONNECT 127.0.0.1:${upstream.port} HTTP/1.1`, `Host: 127.0.0.1:${upstream.port}`));
  let outcome: string;
  try {
    const response = await connection.readResponse({ timeoutMs: 2000 });
    outcome = `answered ${response.status} ${response.body.toString('utf8')}`;
    t.ok(response.status >= 400 && response.status < 500, `CONNECT is answered with a 4xx (${response.status})`);
    t.not(response.status, 200, 'no 200 Connection Established');
  } catch (err) {
    outcome = `connection closed without a response (${(err as Error).message})`;
    t.ok(connection.ended, 'the connection was closed');
  }
  t.comment(`CONNECT: ${outcome}`);
  // Whatever the answer, bytes written after it must not reach the upstream as a tunnel.
  if (!connection.ended) connection.write(head('GET /tunnelled HTTP/1.1', 'Host: upstream'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(upstream.received.length, 0, 'the upstream received nothing');
});

t.test('path traversal above the prefix is refused, never fetched', async (t) => {
  const { upstream, port } = await setup(t);
  const attempts = [
    '/api/../other/x',
    '/api/..',
    '/api/%2e%2e/x',
    '/api/%2E%2E/x',
    '/api/.%2e/x',
    '/api/a/%2e%2e/%2e%2e/x',
    '/api/..%2f..%2fx',
    '/api/..%2F..%2Fx',
    '/api/..%5c..%5cx',
    '/api/a\\..\\..\\x',
    '/api/a/b/../../../x',
    '/api/./../x',
    '/api/../api/x',
    '/api/..?q=1',
  ];
  for (const target of attempts) {
    const response = await rawExchange(port, get(target));
    assertRefused(t, response, 400, 'path_traversal', target);
  }
  t.equal(upstream.received.length, 0, 'the upstream received nothing');
});

t.test('dot-segments that stay below the prefix are resolved before forwarding', async (t) => {
  const { upstream, port } = await setup(t);
  const cases: Array<[string, string]> = [
    ['/api/a/../b', '/b'],
    ['/api/a/./b', '/a/b'],
    ['/api/a/b/../c?x=1', '/a/c?x=1'],
    ['/api/a/%2e%2e/b', '/b'],
    ['/api/a/..', '/'],
  ];
  for (const [target, forwarded] of cases) {
    const response = await rawExchange(port, get(target));
    t.equal(response.status, 200, target);
    t.equal(upstream.received.at(-1)?.url, forwarded, `${target} → ${forwarded}`);
  }
  t.equal(upstream.received.length, cases.length);
});

t.test('scheme-relative and other non-origin targets are refused', async (t) => {
  const { upstream, port } = await setup(t);
  for (const target of ['//evil.com/x', '//127.0.0.1/api/x', '*', `127.0.0.1:${upstream.port}`]) {
    const response = await rawExchange(port, get(target));
    t.equal(response.status, 400, `${target}: 400`);
    t.match(response.all('content-type')[0], /^application\/json/, `${target}: JSON error`);
  }
  const evil = await rawExchange(port, get('//evil.com/x'));
  assertRefused(t, evil, 400, 'bad_request_target', '//evil.com/x');
  t.equal(upstream.received.length, 0, 'the upstream received nothing');
});

t.test('unknown prefixes and prefix look-alikes are not routed', async (t) => {
  const { upstream, port } = await setup(t);
  for (const target of ['/other/x', '/apix/y', '/apix', '/ap', '/API/x', '/%61pi/x']) {
    const response = await rawExchange(port, get(target));
    assertRefused(t, response, 404, 'no_upstream', target);
  }
  t.equal(upstream.received.length, 0, 'the upstream received nothing');
});

t.test('overlapping prefixes route longest first, at segment boundaries', async (t) => {
  const short = await startFakeUpstream();
  const long = await startFakeUpstream();
  t.teardown(() => short.close());
  t.teardown(() => long.close());
  // Declared short-first on purpose: order in the config must not matter.
  const proxy = await startProxy(
    t,
    testConfig([
      { name: 'short', prefix: '/api', target: short.url },
      { name: 'long', prefix: '/api/v2', target: long.url },
    ]),
  );
  const cases: Array<[string, 'short' | 'long', string]> = [
    ['/api/v2/x', 'long', '/x'],
    ['/api/v2', 'long', '/'],
    ['/api/v2/', 'long', '/'],
    ['/api/v2x', 'short', '/v2x'],
    ['/api/v1/x', 'short', '/v1/x'],
    ['/api/x/v2/y', 'short', '/x/v2/y'],
  ];
  for (const [path, which, forwarded] of cases) {
    const upstream = which === 'long' ? long : short;
    const before = upstream.received.length;
    const response = await proxy.fetch(path);
    t.equal(response.status, 200, path);
    t.equal(upstream.received.length, before + 1, `${path} → ${which}`);
    t.equal(upstream.received.at(-1)?.url, forwarded, `${path} forwarded as ${forwarded}`);
  }
  t.equal(short.received.length + long.received.length, cases.length, 'each request went to exactly one upstream');
});

t.test('a target base path is prepended to the forwarded path', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([
      { name: 'based', prefix: '/api', target: `${upstream.url}/base` },
      { name: 'slashed', prefix: '/other', target: `${upstream.url}/v1/root/` },
    ]),
  );
  const cases: Array<[string, string]> = [
    ['/api/x?y=1&y=2', '/base/x?y=1&y=2'],
    ['/api/a/b/', '/base/a/b/'],
    ['/api', '/base/'],
    ['/api/a/../c', '/base/c'],
    ['/other/x', '/v1/root/x'],
  ];
  for (const [path, forwarded] of cases) {
    const response = await proxy.fetch(path);
    t.equal(response.status, 200, path);
    t.equal(upstream.received.at(-1)?.url, forwarded, `${path} → ${forwarded}`);
  }
  // Raw socket: undici would resolve the dot-segment client-side.
  const escape = await rawExchange(proxyPort(proxy), get('/api/../x'));
  assertRefused(t, escape, 400, 'path_traversal', 'cannot climb out of the base path either');
  t.equal(upstream.received.length, cases.length);
});

t.test('request bodies over the limit → 413 request_body_too_large, upstream gets no complete body', async (t) => {
  const limit = 1024;
  const { upstream, port } = await setup(t, { server: { maxRequestBodyBytes: limit } });

  const withLength = await RawConnection.open(port);
  t.teardown(() => withLength.destroy());
  const size = 64 * 1024;
  withLength.write(head('POST /api/upload HTTP/1.1', 'Host: s', 'Content-Type: application/octet-stream', `Content-Length: ${size}`));
  withLength.write(Buffer.alloc(size, 0x61));
  const declared = await withLength.readResponse({ timeoutMs: 5000 });
  assertRefused(t, declared, 413, 'request_body_too_large', 'content-length over the limit');

  const chunked = await RawConnection.open(port);
  t.teardown(() => chunked.destroy());
  chunked.write(head('POST /api/upload HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'));
  for (let i = 0; i < 8; i++) chunked.write(`200\r\n${'b'.repeat(0x200)}\r\n`);
  chunked.write('0\r\n\r\n');
  const streamed = await chunked.readResponse({ timeoutMs: 5000 });
  assertRefused(t, streamed, 413, 'request_body_too_large', 'chunked body over the limit');

  await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(
    upstream.received.every((r) => r.body.length <= limit),
    `no complete oversized body reached the upstream (${upstream.received.map((r) => r.body.length).join(',') || 'nothing received'})`,
  );

  const small = await rawExchange(
    port,
    head('POST /api/upload HTTP/1.1', 'Host: s', `Content-Length: ${limit}`, 'Connection: close') + 'c'.repeat(limit),
  );
  t.equal(small.status, 200, 'a body exactly at the limit passes');
  t.equal(upstream.received.at(-1)?.body.length, limit);
});
