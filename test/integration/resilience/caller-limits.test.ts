import t from 'tap';
import { RATE_LIMIT_DEFAULTS } from '../../../src/config/protection.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';

// A bucket of 3 that refills one token every ~17 minutes: nothing refills during a test.
const limit = (over: Partial<typeof RATE_LIMIT_DEFAULTS> = {}) => ({ ...RATE_LIMIT_DEFAULTS, by: 'session' as const, capacity: 3, refillPerSecond: 0.001, ...over });

t.test('over the limit: 429 with Retry-After and a JSON body; cache hits exempt', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rateLimit: limit(), rules: [{ path: '/items/:id' }] }]));
  const alice = { 'x-session-token': 'a'.repeat(64) };
  const bob = { 'x-session-token': 'b'.repeat(64) };

  for (const id of [1, 2, 3]) t.equal((await proxy.fetch(`/api/items/${id}`, { headers: alice })).status, 200);
  const refused = await proxy.fetch('/api/items/4', { headers: alice });
  t.equal(refused.status, 429);
  t.equal((refused.json() as { error: string }).error, 'rate_limited');
  t.ok(Number(refused.headers['retry-after']) >= 60, `Retry-After ${refused.headers['retry-after']} s`);
  t.equal(upstream.received.length, 3, 'the refused request never reached the upstream');

  const hit = await proxy.fetch('/api/items/1', { headers: alice });
  t.equal(hit.status, 200, 'a cache hit costs the upstream nothing: exempt');
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal((await proxy.fetch('/api/other', { headers: alice })).status, 429, 'a pass-through is limited too');
  t.equal((await proxy.fetch('/api/items/4', { headers: bob })).status, 200, 'another session has its own bucket');
});

t.test('without exemptHits every request takes a token; by ip buckets per client address', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rateLimit: limit({ by: 'ip', exemptHits: false }), rules: [{ path: '/items/:id' }] }]));
  for (let i = 0; i < 3; i++) t.equal((await proxy.fetch('/api/items/1', { headers: { 'x-session-token': `${i}`.repeat(64) } })).status, 200);
  t.equal((await proxy.fetch('/api/items/1')).status, 429, 'hits count, and sessions do not matter when limiting by ip');
});

t.test('with Redis the bucket is shared by every instance', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rateLimit: limit({ capacity: 5 }), rules: [{ path: '/items/:id' }] }], {
    cache: { namespace: redis.namespace, redis: { url: redis.url, readTimeoutMs: 200, compressAboveBytes: 8192, writeQueueSize: 1000 } },
  });
  const first = await startProxy(t, config);
  const second = await startProxy(t, config);
  const headers = { 'x-session-token': 'c'.repeat(64) };
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await (i % 2 === 0 ? first : second).fetch(`/api/items/${i}`, { headers })).status);
  t.equal(statuses.filter((s) => s === 200).length, 5, `one bucket of 5 across both instances: ${statuses.join(',')}`);
  t.equal(statuses.filter((s) => s === 429).length, 5);
});
