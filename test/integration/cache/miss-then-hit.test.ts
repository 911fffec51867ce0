import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const auth = { authorization: 'Bearer user-a' };

t.test('a repeated read is a memory HIT with the same status, headers and body, and a growing Age', async (t) => {
  let n = 0;
  const upstream = await startFakeUpstream((_req, res) => {
    n += 1;
    res.writeHead(203, { 'content-type': 'application/json', etag: `"v${n}"`, 'x-upstream': 'yes' });
    res.end(JSON.stringify({ n }));
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock();
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', ttlMs: 60_000 }] }]), clock);

  const miss = await proxy.fetch('/api/items/1', { headers: auth });
  t.equal(miss.status, 203);
  t.equal(miss.headers['x-cache'], 'MISS');
  t.equal(miss.headers['cache-status'], 'sidecache; fwd=uri-miss; fwd-status=203; stored');
  t.equal(miss.headers['x-cache-tier'], undefined);

  clock.advance(7_000);
  const hit = await proxy.fetch('/api/items/1', { headers: auth });
  t.equal(hit.status, 203);
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['x-cache-tier'], 'memory');
  t.equal(hit.headers['age'], '7');
  t.equal(hit.headers['cache-status'], 'sidecache; hit; ttl=53');
  t.equal(hit.headers['etag'], '"v1"');
  t.equal(hit.headers['x-upstream'], 'yes');
  t.equal(hit.headers['content-type'], 'application/json');
  t.same(hit.body, miss.body);

  clock.advance(10_000);
  const later = await proxy.fetch('/api/items/1', { headers: auth });
  t.equal(later.headers['age'], '17', 'Age grows with time since storing');
  t.equal(upstream.received.length, 1, 'the upstream was called once');
});

t.test('an entry past its ttl is fetched again and replaced', async (t) => {
  let n = 0;
  const upstream = await startFakeUpstream((_req, res) => {
    n += 1;
    res.setHeader('content-type', 'text/plain');
    res.end(`version ${n}`);
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock();
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', ttlMs: 5_000 }] }]), clock);

  t.equal((await proxy.fetch('/api/items/1')).body.toString(), 'version 1');
  clock.advance(4_999);
  const fresh = await proxy.fetch('/api/items/1');
  t.equal(fresh.headers['x-cache'], 'HIT');
  t.equal(fresh.body.toString(), 'version 1');
  clock.advance(1);
  const expired = await proxy.fetch('/api/items/1');
  t.equal(expired.headers['x-cache'], 'MISS');
  t.equal(expired.body.toString(), 'version 2');
  const again = await proxy.fetch('/api/items/1');
  t.equal(again.headers['x-cache'], 'HIT');
  t.equal(again.body.toString(), 'version 2');
  t.equal(upstream.received.length, 2);
});

t.test('query strings are normalised before keying; different queries are different entries', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/q' }] }]));

  await proxy.fetch('/api/q?q=SELECT%20Id%20FROM%20Account&b=1');
  const reordered = await proxy.fetch('/api/q?b=1&q=SELECT+Id+FROM+Account');
  t.equal(reordered.headers['x-cache'], 'HIT', '%20 and + and parameter order do not matter');
  t.equal(upstream.received[0]!.url, '/q?q=SELECT%20Id%20FROM%20Account&b=1', 'the upstream sees the query as sent');
  const repeatedSwapped = await proxy.fetch('/api/q?a=2&a=1');
  const repeated = await proxy.fetch('/api/q?a=1&a=2');
  t.equal(repeatedSwapped.headers['x-cache'], 'MISS');
  t.equal(repeated.headers['x-cache'], 'MISS', 'repeated parameters keep their order in the key');
  t.equal((await proxy.fetch('/api/q?b=2&q=SELECT+Id+FROM+Account')).headers['x-cache'], 'MISS');
});

t.test('requests no rule covers pass through uncached', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/limits', cache: false }, { path: '/items/:id' }] }]),
  );
  for (const path of ['/api/other', '/api/other', '/api/limits', '/api/limits']) {
    const response = await proxy.fetch(path);
    t.equal(response.headers['x-cache'], 'BYPASS', path);
    t.equal(response.headers['cache-status'], 'sidecache; fwd=bypass; detail=no-rule');
  }
  t.equal(upstream.received.length, 4);
});

t.test('vary headers partition entries: the upstream defaults (accept) and a rule’s own', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', vary: ['x-tenant'] }] }]));

  await proxy.fetch('/api/items/1', { headers: { accept: 'application/json' } });
  t.equal((await proxy.fetch('/api/items/1', { headers: { accept: 'application/xml' } })).headers['x-cache'], 'MISS');
  t.equal((await proxy.fetch('/api/items/1', { headers: { accept: 'application/json' } })).headers['x-cache'], 'HIT');
  t.equal((await proxy.fetch('/api/items/1', { headers: { accept: 'application/json', 'x-tenant': 't2' } })).headers['x-cache'], 'MISS');
  t.equal((await proxy.fetch('/api/items/1', { headers: { accept: 'application/json', 'x-tenant': 't2' } })).headers['x-cache'], 'HIT');
});
