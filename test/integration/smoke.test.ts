import t from 'tap';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { testConfig } from '../helpers/config.js';
import { startProxy } from '../helpers/app.js';

t.test('miss then hit, pass-through', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));
  const first = await proxy.fetch('/api/items/1?b=2&a=1', { headers: { authorization: 'Bearer a' } });
  t.equal(first.status, 200);
  t.equal(first.headers['x-cache'], 'MISS');
  const second = await proxy.fetch('/api/items/1?a=1&b=2', { headers: { authorization: 'Bearer a' } });
  t.equal(second.headers['x-cache'], 'HIT', JSON.stringify(second.headers));
  t.same(second.body, first.body);
  t.equal(upstream.received.length, 1);
  const post = await proxy.fetch('/api/items', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
  t.equal(post.status, 200);
  t.equal((post.json() as { bodyLength: number }).bodyLength, 5);
  t.equal(post.headers['x-cache'], 'BYPASS');
  const nobody = await proxy.fetch('/api/items', { method: 'POST', body: 'hi' });
  t.equal(nobody.status, 200, nobody.body.toString());
  const bad = await proxy.fetch('/nope/x');
  t.equal(bad.status, 404);
  t.equal((bad.json() as { error: string }).error, 'no_upstream');
});
