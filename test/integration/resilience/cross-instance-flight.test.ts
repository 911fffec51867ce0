import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';

const redisCache = (redis: { url: string; namespace: string }) => ({
  namespace: redis.namespace,
  redis: { url: redis.url, readTimeoutMs: 200, compressAboveBytes: 8192, writeQueueSize: 1000 },
});

t.test('two instances, 500 concurrent identical cold requests: one upstream call', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const upstream = await startFakeUpstream(async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    res.setHeader('content-type', 'application/json');
    res.end('{"filled":true}');
  });
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared' }] }], { cache: redisCache(redis) });
  const instances = [await startProxy(t, config), await startProxy(t, config)];

  const responses = await Promise.all(Array.from({ length: 500 }, (_, i) => instances[i % 2]!.fetch('/api/items/1')));
  t.equal(upstream.received.length, 1, 'exactly one upstream call across both instances');
  t.ok(responses.every((r) => r.status === 200 && r.body.toString() === '{"filled":true}'), 'every caller got the body');
  const outcomes = new Set(responses.map((r) => `${r.headers['x-cache']} ${r.headers['cache-status']}`));
  t.ok([...outcomes].some((o) => o.includes('filled-by-peer')), `the other instance read the peer's fill: ${[...outcomes].join(' | ')}`);
});

t.test('a holder that stores nothing releases its waiters to fetch for themselves', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const upstream = await startFakeUpstream(async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    res.statusCode = 500;
    res.end('nope');
  });
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared', staleIfErrorMs: 0 }] }], { cache: redisCache(redis) });
  const instances = [await startProxy(t, config), await startProxy(t, config)];
  const started = Date.now();
  const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => instances[i % 2]!.fetch('/api/items/2')));
  t.ok(responses.every((r) => r.status === 500), 'every caller got the upstream answer');
  t.equal(upstream.received.length, 2, 'one call per instance: the waiter fetched after the holder stored nothing');
  t.ok(Date.now() - started < 2_000, 'without waiting for the lease to expire');
});

t.test('Redis unreachable: every instance fetches for itself, nothing fails', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared' }] }], {
    cache: { namespace: 'unreachable', redis: { url: 'redis://127.0.0.1:1', readTimeoutMs: 50, compressAboveBytes: 8192, writeQueueSize: 1000 } },
  });
  const proxy = await startProxy(t, config);
  const responses = await Promise.all(Array.from({ length: 20 }, () => proxy.fetch('/api/items/3')));
  t.ok(responses.every((r) => r.status === 200));
  t.equal(upstream.received.length, 1, 'still collapsed within the instance');
});
