import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const slow = (body: string, delayMs: number, headers: Record<string, string | string[]> = {}) =>
  (async (_req: unknown, res: import('node:http').ServerResponse) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    res.writeHead(200, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  });

t.test('200 concurrent identical cold requests reach the upstream exactly once', async (t) => {
  const upstream = await startFakeUpstream(slow('the answer', 200));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));

  const responses = await Promise.all(
    Array.from({ length: 200 }, () => proxy.fetch('/api/items/42', { headers: { authorization: 'Bearer a' } })),
  );
  t.equal(upstream.received.length, 1);
  t.ok(responses.every((r) => r.status === 200 && r.body.toString() === 'the answer'), 'every waiter got the body');
  // Requests that arrive after the fill (possible on a loaded machine) are hits, not new flights.
  const misses = responses.filter((r) => r.headers['x-cache'] === 'MISS').length;
  const hits = responses.filter((r) => r.headers['x-cache'] === 'HIT').length;
  t.equal(misses + hits, 200);
  t.ok(misses > 1, 'requests did overlap');
  t.equal(responses.filter((r) => String(r.headers['cache-status']).includes('collapsed')).length, misses - 1);
  t.equal(proxy.flights.collapsed, misses - 1);
  t.equal((await proxy.fetch('/api/items/42', { headers: { authorization: 'Bearer a' } })).headers['x-cache'], 'HIT');
});

t.test('concurrent requests from different callers are not collapsed together', async (t) => {
  const upstream = await startFakeUpstream(slow('x', 100));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));
  await Promise.all(['a', 'b', 'c'].map((who) => proxy.fetch('/api/items/1', { headers: { authorization: who } })));
  t.equal(upstream.received.length, 3);
});

t.test('a response that sets a cookie is never handed to other waiters', async (t) => {
  const upstream = await startFakeUpstream(slow('mine', 150, { 'set-cookie': 'sid=leader' }));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared' }] }]));
  const responses = await Promise.all(Array.from({ length: 5 }, () => proxy.fetch('/api/items/1')));
  t.equal(upstream.received.length, 5, 'each waiter fetched its own response');
  t.ok(responses.every((r) => r.headers['set-cookie'] !== undefined));
  const after = await proxy.fetch('/api/items/1');
  t.equal(after.headers['x-cache'], 'MISS', 'nothing was stored');
  t.match(String(after.headers['cache-status']), /detail=set-cookie/);
});

t.test('a body larger than the rule allows is streamed to the leader and fetched separately by waiters', async (t) => {
  const big = 'b'.repeat(64 * 1024);
  const upstream = await startFakeUpstream(slow(big, 100));
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/big', maxBodyBytes: 1024 }] }]));
  const responses = await Promise.all(Array.from({ length: 4 }, () => proxy.fetch('/api/big')));
  t.ok(responses.every((r) => r.status === 200 && r.body.toString() === big));
  t.equal(upstream.received.length, 4);
  const after = await proxy.fetch('/api/big');
  t.equal(after.headers['x-cache'], 'MISS', 'an oversize body is never stored');
  t.match(String(after.headers['cache-status']), /detail=too-large/);
});
