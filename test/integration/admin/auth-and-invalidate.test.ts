import t, { type Test } from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const TOKEN = 'correct-horse-battery-staple';

async function setup(t: Test, token: string | null = TOKEN) {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const rules = [{ path: '/items/:id', tags: ['item:{id}', 'items'] }, { path: '/other/:id' }];
  const config = testConfig([
    { target: upstream.url, rules },
    { name: 'b', prefix: '/b', target: upstream.url, rules },
  ]);
  const proxy = await startProxy(t, config);
  const admin = buildAdminApp({ db: null, token, logger: false, invalidation: { invalidator: proxy.invalidator, upstreams: config.upstreams } });
  t.teardown(() => admin.close());
  return { proxy, admin };
}

const post = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => ({
  method: 'POST' as const,
  url: '/admin/invalidate',
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof body === 'string' ? body : JSON.stringify(body),
});

const PATHS = ['/api/items/1', '/api/items/2', '/api/other/1', '/b/items/1'];

async function warm(proxy: RunningProxy): Promise<void> {
  for (const path of PATHS) await proxy.fetch(path);
  for (const path of PATHS) if ((await proxy.fetch(path)).headers['x-cache'] !== 'HIT') throw new Error(`${path} not cached`);
}

async function outcomes(proxy: RunningProxy): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const path of PATHS) result[path] = String((await proxy.fetch(path)).headers['x-cache']);
  return result;
}

function keyFor(proxy: RunningProxy, upstream: string, path: string): string {
  for (const key of [...proxy.stack.memory!.keys()]) {
    const entry = proxy.stack.peekMemory(key)?.entry;
    if (entry?.upstream === upstream && entry.path === path) return key;
  }
  throw new Error(`no key for ${path}`);
}

t.test('every /admin route requires the bearer token: 401 without, 403 when wrong', async (t) => {
  const { admin } = await setup(t);
  const missing = await admin.inject(post({ all: true }, {}));
  t.equal(missing.statusCode, 401);
  t.equal(missing.json().error, 'unauthorized');
  t.match(String(missing.headers['www-authenticate']), /^Bearer/);
  t.equal((await admin.inject(post({ all: true }, { authorization: 'Basic abc' }))).statusCode, 401, 'not a bearer token');
  const wrong = await admin.inject(post({ all: true }, { authorization: 'Bearer nope' }));
  t.equal(wrong.statusCode, 403);
  t.equal(wrong.json().error, 'forbidden');
  t.equal((await admin.inject({ url: '/admin/audit', headers: { authorization: 'Bearer nope' } })).statusCode, 403, 'audit routes too');
  t.equal((await admin.inject(post({ all: true }))).statusCode, 200);
});

t.test('with no token configured the /admin routes are disabled', async (t) => {
  const { admin } = await setup(t, null);
  const response = await admin.inject(post({ all: true }));
  t.equal(response.statusCode, 404);
  t.equal(response.json().error, 'not_found');
});

t.test('each target removes exactly what it names', async (t) => {
  const { proxy, admin } = await setup(t);
  const cases: Array<[string, (proxy: RunningProxy) => unknown, string[]]> = [
    ['key', (p) => ({ key: keyFor(p, 'api', '/items/1') }), ['/api/items/1']],
    ['tags (case-insensitive)', () => ({ tags: ['ITEM:2'] }), ['/api/items/2']],
    ['prefix', () => ({ upstream: 'api', prefix: '/other' }), ['/api/other/1']],
    ['upstream', () => ({ upstream: 'b' }), ['/b/items/1']],
    ['shared tag', () => ({ tags: ['items'] }), ['/api/items/1', '/api/items/2', '/b/items/1']],
    ['all', () => ({ all: true }), PATHS],
  ];
  for (const [name, body, expectedMisses] of cases) {
    await warm(proxy);
    const response = await admin.inject(post(body(proxy)));
    t.equal(response.statusCode, 200, `${name}: 200`);
    t.type(response.json().tookMs, 'number');
    const seen = await outcomes(proxy);
    const misses = Object.entries(seen).filter(([, x]) => x === 'MISS').map(([path]) => path);
    t.same(misses, expectedMisses, `${name}: only ${expectedMisses.join(', ')} refetched`);
  }
});

t.test('bad bodies get 400 naming the problem', async (t) => {
  const { admin } = await setup(t);
  const cases: Array<[unknown, RegExp]> = [
    [{}, /^body: name at least one/],
    [{ tags: [] }, /^body: name at least one/],
    [{ upstream: 'nope' }, /^upstream: unknown upstream "nope" \(configured: api, b\)/],
    [{ prefix: '/x' }, /^prefix: needs "upstream"/],
    [{ all: true, extra: 1 }, /extra/],
    [{ tags: 'item:1' }, /tags/],
    [{ all: false }, /all/],
    [{ upstream: 'api', prefix: 'no-slash' }, /prefix/],
    ['{not json', /./],
  ];
  for (const [body, message] of cases) {
    const response = await admin.inject(post(body));
    t.equal(response.statusCode, 400, `${JSON.stringify(body)}: 400`);
    t.equal(response.json().error, 'invalid_request');
    t.match(response.json().message, message, `${JSON.stringify(body)}: ${response.json().message}`);
  }
});
