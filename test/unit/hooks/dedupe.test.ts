import t from 'tap';
import { Redis } from 'ioredis';
import { DeliveryDedupe } from '../../../src/hooks/dedupe.js';
import { redisOrSkip, sharedRedis } from '../../helpers/redis.js';

const options = { namespace: 'unit', windowMs: 60_000, timeoutMs: 200, maxRemembered: 100 };

t.test('without Redis: the first claim of an id wins, repeats lose, ids are per source', async (t) => {
  const dedupe = new DeliveryDedupe({ ...options, redis: null });
  t.equal(await dedupe.claim('jira', 'a'), true);
  t.equal(await dedupe.claim('jira', 'a'), false);
  t.equal(await dedupe.claim('jira', 'b'), true);
  t.equal(await dedupe.claim('generic', 'a'), true, 'another source has its own ids');
});

t.test('a released claim (its delivery failed) can be claimed again', async (t) => {
  const dedupe = new DeliveryDedupe({ ...options, redis: null });
  await dedupe.claim('jira', 'a');
  await dedupe.release('jira', 'a');
  t.equal(await dedupe.claim('jira', 'a'), true);
});

t.test('applyOnce: what a failed apply claimed is released; what a finished one claimed is kept', async (t) => {
  const dedupe = new DeliveryDedupe({ ...options, redis: null });
  await dedupe.claim('jira', 'seen');
  const failed = dedupe.applyOnce('jira', async (claim) => {
    t.same([await claim('a'), await claim('seen')], [true, false]);
    throw new Error('invalidation failed');
  });
  await t.rejects(failed, /invalidation failed/);
  t.equal(await dedupe.claim('jira', 'a'), true, 'released, so the retry is applied');
  t.equal(await dedupe.claim('jira', 'seen'), false, 'a claim it did not make is not released');
  t.equal(await dedupe.applyOnce('jira', async (claim) => claim('b')), true);
  t.equal(await dedupe.claim('jira', 'b'), false, 'kept after success');
});

t.test('ids are forgotten after the window', async (t) => {
  const dedupe = new DeliveryDedupe({ ...options, redis: null, windowMs: 30 });
  await dedupe.claim('jira', 'a');
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.equal(await dedupe.claim('jira', 'a'), true);
});

t.test('with Redis: a repeat is recognised by another instance', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const clients = [new Redis(redis.url), new Redis(redis.url)];
  t.teardown(() => clients.forEach((c) => c.disconnect()));
  const [a, b] = clients.map((client) => new DeliveryDedupe({ ...options, namespace: redis.namespace, redis: sharedRedis(client) }));
  t.equal(await a!.claim('jira', 'delivery-1'), true);
  t.equal(await b!.claim('jira', 'delivery-1'), false, 'the other instance sees the claim');
  t.equal(await b!.claim('jira', 'delivery-2'), true);
  const keys = await clients[0]!.keys(`sidecache:${redis.namespace}:hook:jira:*`);
  t.equal(keys.length, 2, 'one key per id, under the namespace');
  t.ok((await clients[0]!.pttl(keys[0]!)) > 0, 'that expires');
  await a!.release('jira', 'delivery-1');
  t.equal(await b!.claim('jira', 'delivery-1'), true, 'a released claim is free everywhere');
});

t.test('when Redis does not answer, each instance decides from its own memory', async (t) => {
  const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  dead.on('error', () => undefined);
  t.teardown(() => dead.disconnect());
  const dedupe = new DeliveryDedupe({ ...options, redis: sharedRedis(dead), timeoutMs: 50 });
  t.equal(await dedupe.claim('jira', 'a'), true);
  t.equal(await dedupe.claim('jira', 'a'), false);
});
