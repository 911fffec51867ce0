import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type UpstreamHandler } from '../../helpers/fake-upstream.js';

/** Answers with whoever the upstream thinks is calling, so a leak shows up in the body. */
const whoAmI: UpstreamHandler = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ user: req.headers['authorization'] ?? req.headers['cookie'] ?? 'anonymous' }));
};

t.test('two Authorization values never share an entry under the default scope', async (t) => {
  const upstream = await startFakeUpstream(whoAmI);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/me' }] }]));

  const alice = await proxy.fetch('/api/me', { headers: { authorization: 'Bearer alice' } });
  const bob = await proxy.fetch('/api/me', { headers: { authorization: 'Bearer bob' } });
  t.equal(bob.headers['x-cache'], 'MISS');
  t.same(bob.json(), { user: 'Bearer bob' });
  const aliceAgain = await proxy.fetch('/api/me', { headers: { authorization: 'Bearer alice' } });
  t.equal(aliceAgain.headers['x-cache'], 'HIT');
  t.same(aliceAgain.json(), { user: 'Bearer alice' });
  t.same(alice.json(), { user: 'Bearer alice' });
  const anonymous = await proxy.fetch('/api/me');
  t.equal(anonymous.headers['x-cache'], 'MISS', 'an anonymous caller gets its own partition');
  t.same(anonymous.json(), { user: 'anonymous' });
  t.equal(upstream.received.length, 3);
});

t.test('without Authorization, the Cookie header is the credential', async (t) => {
  const upstream = await startFakeUpstream(whoAmI);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/me' }] }]));

  await proxy.fetch('/api/me', { headers: { cookie: 'sid=one' } });
  const other = await proxy.fetch('/api/me', { headers: { cookie: 'sid=two' } });
  t.equal(other.headers['x-cache'], 'MISS');
  t.same(other.json(), { user: 'sid=two' });
});

t.test('a shared rule serves one entry to every caller', async (t) => {
  const upstream = await startFakeUpstream(whoAmI);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/fields', scope: 'shared' }] }]));

  const first = await proxy.fetch('/api/fields', { headers: { authorization: 'Bearer alice' } });
  const second = await proxy.fetch('/api/fields', { headers: { authorization: 'Bearer bob' } });
  t.equal(second.headers['x-cache'], 'HIT');
  t.same(second.body, first.body);
  t.equal(upstream.received.length, 1);
});

t.test('a session-scoped rule partitions by session token and bypasses the cache without one', async (t) => {
  const upstream = await startFakeUpstream(whoAmI);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/prefs', scope: 'session' }] }]));

  await proxy.fetch('/api/prefs', { headers: { 'x-session-token': 's1' } });
  t.equal((await proxy.fetch('/api/prefs', { headers: { 'x-session-token': 's1' } })).headers['x-cache'], 'HIT');
  t.equal((await proxy.fetch('/api/prefs', { headers: { 'x-session-token': 's2' } })).headers['x-cache'], 'MISS');
  const none = await proxy.fetch('/api/prefs');
  t.equal(none.headers['x-cache'], 'BYPASS');
  t.equal(none.headers['cache-status'], 'sidecache; fwd=bypass; detail=no-session');
});

t.test('credentials never appear in cache keys', async (t) => {
  const upstream = await startFakeUpstream(whoAmI);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/me' }] }]));
  await proxy.fetch('/api/me', { headers: { authorization: 'Bearer very-secret-token' } });
  const keys = [...proxy.stack.memory!.keys()];
  t.equal(keys.length, 1);
  t.notMatch(keys[0]!, /very-secret-token/);
  t.match(keys[0]!, /^api:auth:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{43}$/);
});
