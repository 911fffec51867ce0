import t from 'tap';
import { invalidatedPaths, isNonError, isSafeMethod, type UnsafeResponse } from '../../../src/policy/unsafe-invalidation.js';

/** A PUT to /things/1 of an upstream at http://up:8080/base, mounted at /api of a proxy reached as sidecache:3000. */
function response(overrides: Partial<UnsafeResponse> = {}): UnsafeResponse {
  return {
    method: 'PUT',
    status: 200,
    path: '/things/1',
    upstreamUrl: 'http://up:8080/base/things/1?x=1',
    mounts: [
      { origin: 'http://up:8080', basePath: '/base' },
      { origin: 'http://sidecache:3000', basePath: '/api' },
      { origin: 'https://sidecache:3000', basePath: '/api' },
    ],
    headers: {},
    ...overrides,
  };
}

t.test('RFC 9110 §9.2.1: the safe methods (and the registry\'s safe WebDAV ones) invalidate nothing', async (t) => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH', 'QUERY']) {
    t.ok(isSafeMethod(method), method);
    t.same(invalidatedPaths(response({ method, headers: { location: '/base/things/2' } })), [], method);
  }
});

t.test('RFC 9111 §4.4: every other method, extension methods included, invalidates its target URI', async (t) => {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'PURGE', 'LINK', 'M-SEARCH']) {
    t.notOk(isSafeMethod(method), method);
    t.same(invalidatedPaths(response({ method })), ['/things/1'], method);
  }
  t.notOk(isSafeMethod('get'), 'methods are case-sensitive (RFC 9110 §9.1)');
});

t.test('RFC 9111 §4.4: only a non-error response (2xx or 3xx) invalidates', async (t) => {
  for (const status of [200, 201, 204, 301, 303, 304, 307, 399]) {
    t.ok(isNonError(status), String(status));
    t.same(invalidatedPaths(response({ status })), ['/things/1'], String(status));
  }
  for (const status of [100, 103, 199, 400, 404, 412, 500, 503, 799]) {
    t.notOk(isNonError(status), String(status));
    t.same(invalidatedPaths(response({ status })), [], String(status));
  }
});

t.test('RFC 9111 §4.4: Location and Content-Location URIs on the same upstream are invalidated too', async (t) => {
  const cases: Array<[string, string]> = [
    ['/base/things/2', '/things/2'],
    ['2', '/things/2'],
    ['../other/3?view=full#top', '/other/3'],
    ['http://up:8080/base/things/4', '/things/4'],
    ['HTTP://UP:8080/base/things/5', '/things/5'],
    ['http://sidecache:3000/api/things/6', '/things/6'],
    ['https://sidecache:3000/api/things/7', '/things/7'],
    ['/base', '/'],
    ['http://sidecache:3000/api', '/'],
  ];
  for (const [location, path] of cases) {
    t.same(invalidatedPaths(response({ status: 201, headers: { location } })), ['/things/1', path], `Location: ${location}`);
    t.same(invalidatedPaths(response({ headers: { 'content-location': location } })), ['/things/1', path], `Content-Location: ${location}`);
  }
  t.same(
    invalidatedPaths(response({ status: 303, headers: { location: '/base/a', 'content-location': '/base/b' } })),
    ['/things/1', '/a', '/b'],
    'both fields',
  );
  t.same(invalidatedPaths(response({ headers: { location: '/base/things/1', 'content-location': '1' } })), ['/things/1'], 'each path once');
});

t.test('RFC 9111 §4.4: URIs on another host, port, scheme or outside the upstream are not invalidated', async (t) => {
  for (const location of [
    'http://elsewhere/base/things/2',
    'https://up:8080/base/things/2',
    'http://up:8081/base/things/2',
    'http://up/base/things/2',
    '/basement/x',
    '/other/x',
    'http://sidecache:3000/apix/things/2',
    'http://sidecache:3000/other/things/2',
    'http://sidecache/api/things/2',
    '//elsewhere/base/x',
    'mailto:someone@example.com',
    'http://[bad',
  ]) {
    t.same(invalidatedPaths(response({ status: 201, headers: { location } })), ['/things/1'], location);
  }
});

t.test('an upstream targeted at its origin root maps every path of that origin', async (t) => {
  const root = response({ upstreamUrl: 'http://up/things/1', mounts: [{ origin: 'http://up', basePath: '' }] });
  t.same(invalidatedPaths({ ...root, headers: { location: '/x/y' } }), ['/things/1', '/x/y']);
  t.same(invalidatedPaths({ ...root, headers: { location: 'http://up:80/z' } }), ['/things/1', '/z'], 'the default port is the same origin');
});
