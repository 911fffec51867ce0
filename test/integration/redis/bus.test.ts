import t, { type Test } from 'tap';
import type { Cluster, Redis } from 'ioredis';
import { InvalidationBus } from '../../../src/invalidation/bus.js';
import type { BusMessage } from '../../../src/invalidation/messages.js';
import { decodeBusMessage, encodeBusMessage, toBusMessage } from '../../../src/invalidation/messages.js';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { Coherence } from '../../../src/invalidation/coherence.js';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { testEntry } from '../../helpers/tier-contract.js';

/** A started bus on its own publisher and subscriber connections, recording what it receives. */
async function bus(t: Test, url: string, namespace: string, instanceId: string) {
  const publisher = createRedisClient(url, { connectTimeoutMs: 2_000, name: `bus-${instanceId}`, log: () => undefined });
  const subscriber = publisher.duplicate();
  t.teardown(() => {
    publisher.disconnect();
    subscriber.disconnect();
  });
  await waitForReady(publisher, 5_000);
  const logs: string[] = [];
  const b = new InvalidationBus({ publisher, subscriber, namespace, instanceId, log: (_obj, msg) => logs.push(msg) });
  t.teardown(() => b.close());
  await b.start();
  const received: Array<{ message: BusMessage; at: number }> = [];
  b.onMessage((message) => {
    received.push({ message, at: performance.now() });
  });
  return { bus: b, publisher: publisher as Redis | Cluster, received, logs };
}

/** Instances A and B on one Redis namespace, or null (the test is skipped) without Redis. */
async function twoInstances(t: Test) {
  const redis = await redisOrSkip(t);
  if (redis === null) return null;
  return { a: await bus(t, redis.url, redis.namespace, 'instance-a'), b: await bus(t, redis.url, redis.namespace, 'instance-b') };
}

/** Waits until `check` is true, or fails after `ms`. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

t.test('an evict published by A reaches B within 100 ms, and not A itself', async (t) => {
  const instances = await twoInstances(t);
  if (instances === null) return;
  const { a, b } = instances;

  const sentAt = performance.now();
  await a.bus.publish({ type: 'evict', keys: ['api:shared:1', 'api:shared:2'] });
  t.ok(await until(() => b.received.length === 1, 1_000), 'B received it');
  const latency = b.received[0]!.at - sentAt;
  t.ok(latency < 100, `delivered in ${latency.toFixed(1)} ms`);
  t.same(b.received[0]!.message, { v: 1, origin: 'instance-a', type: 'evict', keys: ['api:shared:1', 'api:shared:2'] });

  await a.bus.publish({ type: 'clear' });
  t.ok(await until(() => b.received.length === 2, 1_000));
  t.same(b.received[1]!.message, { v: 1, origin: 'instance-a', type: 'clear' });

  await until(() => a.bus.stats().ownIgnored === 2, 500);
  t.same(a.received, [], 'A ignores its own messages');
  t.match(a.bus.stats(), { published: 2, received: 0, ownIgnored: 2, dropped: 0, publishFailures: 0 });
  t.match(b.bus.stats(), { published: 0, received: 2, dropped: 0 });
});

t.test('a bus on another namespace receives nothing', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const other = await redisOrSkip(t);
  if (other === null) return;
  const a = await bus(t, redis.url, redis.namespace, 'a');
  const b = await bus(t, redis.url, redis.namespace, 'b');
  const elsewhere = await bus(t, redis.url, other.namespace, 'c');
  await a.bus.publish({ type: 'evict', keys: ['k'] });
  t.ok(await until(() => b.received.length === 1, 1_000), 'same namespace receives');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(elsewhere.received.length, 0, 'other namespace does not');
  t.equal(elsewhere.bus.stats().received + elsewhere.bus.stats().dropped, 0);
});

t.test('malformed payloads published raw are dropped and counted, never thrown', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const b = await bus(t, redis.url, redis.namespace, 'b');
  const payloads = [
    'not json',
    '',
    'null',
    '[]',
    '42',
    '{"v":1,"origin":"x","type":"evict"}',
    '{"v":1,"origin":"x","type":"evict","keys":"k"}',
    '{"v":1,"origin":"x","type":"evict","keys":[1]}',
    '{"v":2,"origin":"x","type":"clear"}',
    '{"v":1,"type":"clear"}',
    '{"v":1,"origin":"x","type":"explode"}',
    '{"v":1,"origin":"x","type":"toString"}',
    '{"v":1,"origin":"x","type":"__proto__"}',
    Buffer.from([0xff, 0xfe, 0x00]),
  ];
  for (const payload of payloads) await b.publisher.publish(b.bus.channel, payload);
  await b.publisher.publish(b.bus.channel, JSON.stringify({ v: 1, origin: 'x', type: 'clear' }));
  t.ok(await until(() => b.received.length === 1, 1_000), 'a valid message after the junk still arrives');
  t.equal(b.bus.stats().dropped, payloads.length);
  t.equal(b.bus.stats().received, 1);
  t.same(b.logs, ['invalidation bus dropped a malformed message'], 'logged once, not per message');
});

t.test('a throwing or rejecting handler is counted and does not stop the others', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const a = await bus(t, redis.url, redis.namespace, 'a');
  const b = await bus(t, redis.url, redis.namespace, 'b');
  b.bus.onMessage(() => {
    throw new Error('boom');
  });
  b.bus.onMessage(async () => {
    throw new Error('async boom');
  });
  const off = b.bus.onMessage(() => {
    t.fail('removed handler called');
  });
  off();
  await a.bus.publish({ type: 'evict', keys: ['k'] });
  t.ok(await until(() => b.bus.stats().handlerErrors === 2, 1_000));
  t.equal(b.received.length, 1);
});

t.test('publish on a dead connection resolves and counts the failure', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const publisher = createRedisClient('redis://127.0.0.1:1', { connectTimeoutMs: 200, name: 'dead', log: () => undefined });
  const subscriber = publisher.duplicate();
  t.teardown(() => {
    publisher.disconnect();
    subscriber.disconnect();
  });
  const logs: string[] = [];
  const b = new InvalidationBus({ publisher, subscriber, namespace: redis.namespace, instanceId: 'x', log: (_o, msg) => logs.push(msg) });
  const started = performance.now();
  await t.rejects(b.start(), 'start rejects while Redis is unreachable');
  await b.publish({ type: 'evict', keys: ['k'] });
  await b.publish({ type: 'clear' });
  t.ok(performance.now() - started < 2_000, 'fails fast');
  t.equal(b.stats().publishFailures, 2);
  t.same(logs, ['invalidation bus publish failed'], 'logged once');
  await b.close();
});

t.test('messages encode and decode symmetrically', async (t) => {
  const message = toBusMessage({ type: 'evict', keys: ['a', 'ü'] }, 'me');
  t.same(decodeBusMessage(encodeBusMessage(message)), { v: 1, origin: 'me', type: 'evict', keys: ['a', 'ü'] });
  t.same(decodeBusMessage(Buffer.from(encodeBusMessage(toBusMessage({ type: 'clear' }, 'me')))), { v: 1, origin: 'me', type: 'clear' });
  const stored = toBusMessage({ type: 'evict', keys: ['a', 'b'], storedAt: [1, 2] }, 'me');
  t.same(decodeBusMessage(encodeBusMessage(stored)), { v: 1, origin: 'me', type: 'evict', keys: ['a', 'b'], storedAt: [1, 2] });
  const raw = (extra: object) => JSON.stringify({ v: 1, origin: 'me', type: 'evict', keys: ['a', 'b'], ...extra });
  t.equal(decodeBusMessage(raw({ storedAt: [1] })), undefined, 'one storedAt per key');
  t.equal(decodeBusMessage(raw({ storedAt: [1, 'x'] })), undefined, 'storedAt are numbers');
  t.equal(decodeBusMessage(raw({ storedAt: 5 })), undefined, 'storedAt is a list');
});

t.test('coherence: a stored entry evicts older copies elsewhere, and keeps the very copy it announced', async (t) => {
  const instances = await twoInstances(t);
  if (instances === null) return;
  const { a, b } = instances;
  const now = Date.now();
  const memoryB = new MemoryTier({ maxBytes: 1 << 20, maxEntries: 100 });
  const coherenceA = new Coherence(a.bus, new MemoryTier({ maxBytes: 1 << 20, maxEntries: 100 }));
  new Coherence(b.bus, memoryB);

  // B already holds what A stored (it read it from Redis before the announcement arrived),
  // an older copy of another key, and a key A never mentions.
  const announced = testEntry(now, { key: 'api:shared:same' });
  memoryB.put(announced);
  memoryB.put(testEntry(now - 5_000, { key: 'api:shared:older' }));
  memoryB.put(testEntry(now - 5_000, { key: 'api:shared:untouched' }));
  coherenceA.stored('api:shared:same', announced.storedAt);
  coherenceA.stored('api:shared:older', now);
  t.ok(await until(() => b.received.length === 1, 1_000), 'B received one batched message');
  t.same(b.received[0]!.message, { v: 1, origin: 'instance-a', type: 'evict', keys: ['api:shared:same', 'api:shared:older'], storedAt: [now, now] });
  t.ok(memoryB.inspect('api:shared:same'), 'the announced copy stays');
  t.equal(memoryB.inspect('api:shared:older'), undefined, 'the older copy is evicted');
  t.ok(memoryB.inspect('api:shared:untouched'));

  // A copy B stored itself a moment later: clocks differ between instances, so only the very
  // announced entry is kept.
  memoryB.put(testEntry(now + 1, { key: 'api:shared:newer-by-b' }));
  coherenceA.stored('api:shared:newer-by-b', now);
  t.ok(await until(() => b.received.length === 2, 1_000));
  t.equal(memoryB.inspect('api:shared:newer-by-b'), undefined, 'evicted: B reads it again from the shared tier');

  // Removals carry no storedAt and always evict.
  memoryB.put(announced);
  await coherenceA.evict(['api:shared:same']);
  t.ok(await until(() => b.received.length === 3, 1_000));
  t.equal(memoryB.inspect('api:shared:same'), undefined);
  await coherenceA.close();
});
