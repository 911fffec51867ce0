import t, { type Test } from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const DELAY_MS = 40;

/** A slow upstream that records the most requests it ever had in flight at once. */
async function setup(t: Test) {
  const gauge = { active: 0, max: 0 };
  const upstream = await startFakeUpstream(async (req, res) => {
    gauge.active++;
    gauge.max = Math.max(gauge.max, gauge.active);
    await new Promise((resolve) => setTimeout(resolve, DELAY_MS));
    gauge.active--;
    if (req.url!.startsWith('/fail')) {
      res.statusCode = 500;
      res.end('boom');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, auth: req.headers.authorization ?? null }));
  });
  t.teardown(() => upstream.close());
  const config = testConfig([
    { target: upstream.url, rules: [{ path: '/items/:id' }, { path: '/fail' }, { path: '/search' }, { path: '/shared/:id', scope: 'shared' }] },
    { name: 'root', prefix: '/', target: upstream.url, rules: [{ path: '/top/:id', scope: 'shared' }] },
    { name: 'off', prefix: '/off', target: null, rules: [{ path: '/x' }] },
  ]);
  const proxy = await startProxy(t, config);
  const admin = buildAdminApp({ token: TEST_ADMIN_TOKEN, db: null, logger: false, warm: { proxy: proxy.app, upstreams: config.upstreams } });
  t.teardown(() => admin.close());
  const warm = (body: unknown, headers: Record<string, string> = {}) =>
    adminInject(admin, { method: 'POST', url: '/admin/warm', payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { proxy, admin, upstream, gauge, warm };
}

t.test('warmed requests go through the read path: the next proxied GET is a HIT', async (t) => {
  const { proxy, upstream, warm } = await setup(t);
  const requests = [
    ...Array.from({ length: 5 }, (_, i) => ({ upstream: 'api', path: `/items/${i}` })),
    { upstream: 'api', path: '/search', query: { q: 'a b', tag: ['x', 'y'] } },
    { upstream: 'api', method: 'GET', path: '/search?q=inline', query: { page: '2' } },
    { upstream: 'api', path: '/items/auth', headers: { authorization: 'Bearer user-1' } },
    { upstream: 'root', path: '/top/1' },
  ];
  const response = await warm({ requests }, { 'x-request-id': 'warm-call-1' });
  t.equal(response.statusCode, 200);
  const body = response.json();
  t.same(body.summary, { total: requests.length, ok: requests.length, failed: 0 });
  t.type(body.tookMs, 'number');
  body.results.forEach((result: Record<string, unknown>, i: number) => {
    t.match(result, { upstream: requests[i]!.upstream, method: 'GET', path: requests[i]!.path, status: 200, cache: 'MISS', tier: null }, `result ${i} in request order`);
    t.equal(result['requestId'], `warm-call-1.w${i}`, 'proxied with a request id derived from the admin call');
    t.notOk('error' in result);
  });
  t.equal(upstream.received.length, requests.length);

  const proxied = [
    '/api/items/0',
    '/api/items/4',
    // Same parameters, another spelling and order: the canonical query makes it the same key.
    '/api/search?tag=x&q=a%20b&tag=y',
    '/api/search?q=inline&page=2',
    '/top/1',
  ];
  for (const path of proxied) t.equal((await proxy.fetch(path)).headers['x-cache'], 'HIT', `${path}: HIT`);
  t.equal((await proxy.fetch('/api/items/auth', { headers: { authorization: 'Bearer user-1' } })).headers['x-cache'], 'HIT', 'the warmed credential partition');
  t.equal((await proxy.fetch('/api/items/auth', { headers: { authorization: 'Bearer user-2' } })).headers['x-cache'], 'MISS', 'another credential is another partition');
  t.equal(upstream.received.length, requests.length + 1, 'only the other credential reached the upstream');

  const again = (await warm({ requests: requests.slice(0, 2) })).json();
  t.same(again.results.map((r: { cache: string }) => r.cache), ['HIT', 'HIT'], 'warming what is cached is a HIT');
});

t.test('concurrency is bounded: by `concurrency`, and 4 by default', async (t) => {
  const { gauge, warm } = await setup(t);
  const requests = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ upstream: 'api', path: `/items/${tag}-${i}` }));

  const three = await warm({ requests: requests(12, 'c3'), concurrency: 3 });
  t.equal(three.json().summary.ok, 12);
  t.equal(gauge.max, 3, 'exactly 3 upstream requests in flight at most');

  gauge.max = 0;
  await warm({ requests: requests(10, 'default') });
  t.equal(gauge.max, 4, 'default 4');

  gauge.max = 0;
  await warm({ requests: requests(20, 'c16'), concurrency: 16 });
  t.ok(gauge.max <= 16 && gauge.max > 4, `16 at most (${gauge.max})`);
});

t.test('per-request failures are reported in place; the call itself succeeds', async (t) => {
  const { warm } = await setup(t);
  const response = await warm({
    requests: [
      { upstream: 'api', path: '/items/ok' },
      { upstream: 'api', path: '/fail' },
      { upstream: 'off', path: '/x' },
      { upstream: 'api', method: 'HEAD', path: '/items/head' },
    ],
  });
  t.equal(response.statusCode, 200);
  const { results, summary } = response.json();
  t.match(results[0], { status: 200, cache: 'MISS' });
  t.notOk('error' in results[0]);
  t.match(results[1], { status: 500, error: 'upstream answered 500' });
  t.match(results[2], { status: 503, error: /^upstream_disabled: / });
  t.match(results[3], { method: 'HEAD', status: 200 });
  t.same(summary, { total: 4, ok: 2, failed: 2 });
});

/** [body, the start of the 400 message] */
const INVALID: Array<[unknown, RegExp]> = [
  [{}, /^requests: is required/],
  [{ requests: [] }, /^requests: expected 1 to 100 requests/],
  [{ requests: Array.from({ length: 101 }, () => ({ upstream: 'api', path: '/items/1' })) }, /^requests: expected 1 to 100 requests/],
  [{ requests: 'all' }, /^requests: /],
  [{ requests: [{ upstream: 'api', path: '/items/1', method: 'POST' }] }, /^requests\[0\]\.method: expected GET or HEAD: only reads can be warmed/],
  [{ requests: [{ upstream: 'api', path: '/a' }, { upstream: 'api', path: 'items/1' }] }, /^requests\[1\]\.path: expected a path starting with "\/"/],
  [{ requests: [{ upstream: 'api' }] }, /^requests\[0\]\.path: is required \(expected a path/],
  [{ requests: [{ upstream: 'api', path: '/a', verbose: true }] }, /^requests\[0\]\.verbose: unknown parameter \(allowed: upstream, method, path, query, headers\)/],
  [{ requests: [{ upstream: 'api', path: '/a' }, { upstream: 'nope', path: '/a' }] }, /^requests\[1\]\.upstream: unknown upstream "nope" \(configured: api, root, off\)/],
  [{ requests: [{ upstream: 'api', path: '/a', headers: { host: 'evil' } }] }, /^requests\[0\]\.headers: "host" cannot be set/],
  [{ requests: [{ upstream: 'api', path: '/a', headers: { 'bad header': 'x' } }] }, /^requests\[0\]\.headers/],
  [{ requests: [{ upstream: 'api', path: '/a', query: { q: { nested: 1 } } }] }, /^requests\[0\]\.query/],
  [{ requests: [{ upstream: 'api', path: '/items/../../top/1' }] }, /^requests\[0\]\.path: must not contain "\." or "\.\." segments/],
  [{ requests: [{ upstream: 'api', path: '/items/%2E%2e/x' }] }, /^requests\[0\]\.path: must not contain/],
  [{ requests: [{ upstream: 'api', path: '/items\\..\\x' }] }, /^requests\[0\]\.path: must not contain/],
  [{ requests: [{ upstream: 'api', path: '/items/a b' }] }, /^requests\[0\]\.path: expected a path/],
  [{ requests: [{ upstream: 'api', path: '/items/1#frag' }] }, /^requests\[0\]\.path: expected a path/],
  [{ requests: [{ upstream: 'api', path: '/a' }], concurrency: 17 }, /^concurrency: expected an integer from 1 to 16/],
  [{ requests: [{ upstream: 'api', path: '/a' }], concurrency: 0 }, /^concurrency: /],
  [{ requests: [{ upstream: 'api', path: '/a' }], extra: 1 }, /^extra: unknown parameter \(allowed: requests, concurrency\)/],
  ['{not json', /./],
];

t.test('bad input: 400 invalid_request naming the parameter, and nothing is fetched', async (t) => {
  const { upstream, warm } = await setup(t);
  for (const [body, message] of INVALID) {
    const response = await warm(body);
    const label = JSON.stringify(body).slice(0, 80);
    t.equal(response.statusCode, 400, `${label}: 400`);
    t.equal(response.json().error, 'invalid_request', label);
    t.match(response.json().message, message, `${label}: ${response.json().message}`);
  }
  t.equal(upstream.received.length, 0, 'a refused call fetches nothing, not even its valid requests');
});

t.test('the token applies: 401 without, 403 when wrong', async (t) => {
  const { admin, upstream } = await setup(t);
  const request = { method: 'POST' as const, url: '/admin/warm', payload: { requests: [{ upstream: 'api', path: '/items/1' }] } };
  t.equal((await admin.inject(request)).statusCode, 401);
  t.equal((await admin.inject({ ...request, headers: { authorization: 'Bearer wrong' } })).statusCode, 403);
  t.equal(upstream.received.length, 0);
});
