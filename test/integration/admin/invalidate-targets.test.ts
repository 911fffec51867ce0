import t, { type Test } from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

// Issue 11, "Admin and logs": prefix invalidation, keysDeleted, strict body types, 413.

const ISSUE = '/jira/rest/api/3/issue/PROJ-1';
const SEARCH = '/jira/rest/api/3/search';

async function setup(t: Test) {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([
    {
      name: 'jira',
      prefix: '/jira',
      target: upstream.url,
      rules: [{ path: '/rest/api/3/issue/:key', tags: ['jira:issue:{key}'] }, { path: '/rest/api/3/search' }, { path: '/rest/api/3/myself', cache: false }],
    },
    { name: 'bare', prefix: '/bare', target: upstream.url },
  ]);
  const proxy = await startProxy(t, config);
  const admin = buildAdminApp({
    db: null,
    token: TEST_ADMIN_TOKEN,
    logger: false,
    invalidation: { invalidator: proxy.invalidator, upstreams: config.upstreams },
    warm: { proxy: proxy.app, upstreams: config.upstreams },
  });
  t.teardown(() => admin.close());
  return { proxy, admin };
}

const invalidate = (admin: ReturnType<typeof buildAdminApp>, body: unknown) =>
  adminInject(admin, { method: 'POST', url: '/admin/invalidate', headers: { 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });

async function cached(proxy: RunningProxy, path: string): Promise<void> {
  await proxy.fetch(path);
  if ((await proxy.fetch(path)).headers['x-cache'] !== 'HIT') throw new Error(`${path} was not cached`);
}

const cacheOf = async (proxy: RunningProxy, path: string) => String((await proxy.fetch(path)).headers['x-cache']);

function memoryKey(proxy: RunningProxy, path: string): string {
  for (const key of [...proxy.stack.memory!.keys()]) if (proxy.stack.peekMemory(key)?.entry.path === path) return key;
  throw new Error(`no entry for ${path}`);
}

t.test('a prefix with a trailing slash invalidates what is below it', async (t) => {
  const { proxy, admin } = await setup(t);
  for (const prefix of ['/rest/api/3/issue/', '/rest/api/3/issue', '/rest/api/3/issue//', '/rest/api/']) {
    await cached(proxy, ISSUE);
    await cached(proxy, SEARCH);
    const response = await invalidate(admin, { upstream: 'jira', prefix });
    t.equal(response.statusCode, 200, `${prefix}: 200`);
    const expectedIssueOnly = prefix.startsWith('/rest/api/3/issue');
    t.same(response.json().invalidated.epochs, [`path:jira:${expectedIssueOnly ? '/rest/api/3/issue' : '/rest/api'}`], `${prefix}: indexed without the trailing slash`);
    t.equal(await cacheOf(proxy, ISSUE), 'MISS', `${prefix}: the issue is refetched`);
    t.equal(await cacheOf(proxy, SEARCH), expectedIssueOnly ? 'HIT' : 'MISS', `${prefix}: the search is ${expectedIssueOnly ? 'kept' : 'refetched'}`);
  }
  t.equal((await invalidate(admin, { upstream: 'jira', prefix: '/' })).statusCode, 200, 'the root prefix covers every rule');
});

t.test('a prefix that cannot match any cached path is refused, never answered 200', async (t) => {
  const { admin } = await setup(t);
  const unmatchable: Array<[string, string, RegExp]> = [
    ['jira', '/jira/rest/api/3/issue', /paths are relative to the upstream prefix "\/jira": did you mean "\/rest\/api\/3\/issue"\?/],
    ['jira', '/rest/api/3/iss', /no caching rule of upstream "jira" stores a path at or below "\/rest\/api\/3\/iss" \(a prefix matches whole segments; rule paths: \/rest\/api\/3\/issue\/:key, \/rest\/api\/3\/search\)$/],
    ['jira', '/rest/api/3/issue/PROJ-1/comment', /rule paths/],
    ['jira', '/rest/api/3/myself', /rule paths/],
    ['bare', '/anything', /upstream "bare" has no caching rules/],
  ];
  for (const [upstream, prefix, message] of unmatchable) {
    const response = await invalidate(admin, { upstream, prefix });
    t.equal(response.statusCode, 422, `${prefix}: 422`);
    t.equal(response.json().error, 'invalidation_matches_nothing');
    t.match(response.json().message, message, `${prefix}: ${response.json().message}`);
  }
  const malformed: Array<[string, RegExp]> = [
    ['/rest/api/3/issue?fields=x', /^prefix: must be a path without "\?query"/],
    ['/rest/api/3/issue#x', /^prefix: must be a path without/],
    ['/rest/api/../3/issue', /^prefix: must not contain "\." or "\.\." segments/],
    ['/rest/api/%2e/3', /^prefix: must not contain "\." or "\.\." segments/],
    ['/rest/api 3', /^prefix: must not contain spaces/],
  ];
  for (const [prefix, message] of malformed) {
    const response = await invalidate(admin, { upstream: 'jira', prefix });
    t.equal(response.statusCode, 400, `${prefix}: 400`);
    t.equal(response.json().error, 'invalid_request');
    t.match(response.json().message, message, `${prefix}: ${response.json().message}`);
  }
});

t.test('keysDeleted counts the keys actually removed', async (t) => {
  const { proxy, admin } = await setup(t);
  await cached(proxy, ISSUE);
  const key = memoryKey(proxy, '/rest/api/3/issue/PROJ-1');
  const first = await invalidate(admin, { key });
  t.equal(first.statusCode, 200);
  t.equal(first.json().invalidated.keysDeleted, 1, 'the cached key');
  const again = await invalidate(admin, { key });
  t.equal(again.json().invalidated.keysDeleted, 0, 'already gone');
  const unknown = await invalidate(admin, { key: 'jira:anon:no-such-digest' });
  t.equal(unknown.json().invalidated.keysDeleted, 0, 'never cached');
  t.equal(await cacheOf(proxy, ISSUE), 'MISS');
});

t.test('body fields are not coerced: a string is not a boolean, a number not a string', async (t) => {
  const { admin } = await setup(t);
  const cases: Array<[unknown, RegExp]> = [
    [{ all: 'true' }, /^all: true \(everything\)/],
    [{ all: 1 }, /^all:/],
    [{ upstream: 7 }, /^upstream:/],
    [{ tags: ['a', 2] }, /^tags\[1\]:/],
  ];
  for (const [body, message] of cases) {
    const response = await invalidate(admin, body);
    t.equal(response.statusCode, 400, `${JSON.stringify(body)}: 400`);
    t.equal(response.json().error, 'invalid_request');
    t.match(response.json().message, message, `${JSON.stringify(body)}: ${response.json().message}`);
  }
  const warm = await adminInject(admin, {
    method: 'POST',
    url: '/admin/warm',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ requests: [{ upstream: 'jira', path: '/rest/api/3/search' }], concurrency: '4' }),
  });
  t.equal(warm.statusCode, 400, 'warm concurrency as a string');
  t.match(warm.json().message, /^concurrency:/);
  const ok = await invalidate(admin, { all: true });
  t.equal(ok.statusCode, 200, 'a real boolean still works');
});

t.test('a body over the admin limit gets 413, not 400', async (t) => {
  const { admin } = await setup(t);
  const big = JSON.stringify({ tags: Array.from({ length: 200_000 }, (_, i) => `tag-${i}-${'x'.repeat(40)}`) });
  t.ok(big.length > 10 * 1024 * 1024, 'about 10 MB');
  const response = await invalidate(admin, big);
  t.equal(response.statusCode, 413);
  t.equal(response.json().error, 'request_body_too_large');
  t.match(response.json().message, /1048576 bytes/);
});
