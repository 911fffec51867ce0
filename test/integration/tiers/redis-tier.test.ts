import t, { type Test } from 'tap';
import type { Cluster, Redis } from 'ioredis';
import { RedisTier } from '../../../src/cache/tiers/redis.js';
import { ENTRY_FORMAT_VERSION } from '../../../src/cache/entry.js';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { deleteNamespace, redisOrSkip } from '../../helpers/redis.js';
import { CONTRACT_START, runTierContract, testEntry } from '../../helpers/tier-contract.js';

const COMPRESS_ABOVE = 8 * 1024;

/** A connected client closed at the end of the test. */
async function client(t: Test, url: string): Promise<Redis | Cluster> {
  const c = createRedisClient(url, { connectTimeoutMs: 2_000, name: 'sidecache-test', log: () => undefined });
  t.teardown(() => c.disconnect());
  await waitForReady(c, 5_000);
  return c;
}

/** A RedisTier on its own namespace and a manual clock. */
async function setup(t: Test, now = CONTRACT_START) {
  const redis = await redisOrSkip(t);
  if (redis === null) return null;
  const c = await client(t, redis.url);
  const clock = { now };
  const tier = new RedisTier({ client: c, namespace: redis.namespace, compressAboveBytes: COMPRESS_ABOVE, now: () => clock.now });
  return { tier, client: c as Redis, clock, namespace: redis.namespace, url: redis.url };
}

t.test('contract', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const c = await client(t, redis.url);
  await runTierContract(t, 'RedisTier', async (now) => new RedisTier({ client: c, namespace: redis.namespace, compressAboveBytes: COMPRESS_ABOVE, now }));
});

t.test('keys are namespaced and versioned', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const entry = testEntry(s.clock.now);
  await s.tier.set(entry);
  const key = `sidecache:${s.namespace}:v${ENTRY_FORMAT_VERSION}:e:${entry.key}`;
  t.equal(s.tier.entryKey(entry.key), key);
  t.equal(await s.client.exists(key), 1);
  t.equal(s.tier.indexKey, `sidecache:${s.namespace}:v${ENTRY_FORMAT_VERSION}:idx`);
  t.equal(await s.client.type(s.tier.indexKey), 'zset');
});

t.test('Redis expires the entry itself at staleUntil (PTTL)', async (t) => {
  const s = await setup(t, Date.now());
  if (s === null) return;
  const entry = testEntry(s.clock.now, { expiresAt: s.clock.now + 30_000, staleUntil: s.clock.now + 90_000 });
  await s.tier.set(entry);
  const pttl = await s.client.pttl(s.tier.entryKey(entry.key));
  t.ok(pttl > 89_000 && pttl <= 90_000, `PTTL ${pttl} ≈ staleUntil - now (90 000)`);

  const short = testEntry(s.clock.now, { expiresAt: s.clock.now + 100, staleUntil: s.clock.now + 150 });
  await s.tier.set(short);
  await new Promise((resolve) => setTimeout(resolve, 250));
  t.equal(await s.client.exists(s.tier.entryKey(short.key)), 0, 'gone from Redis after staleUntil');
});

t.test('the index tracks keys with staleUntil as score', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const entries = Array.from({ length: 5 }, (_, i) => testEntry(s.clock.now, { staleUntil: s.clock.now + 10_000 * (i + 1) }));
  for (const e of entries) await s.tier.set(e);
  t.equal(await s.client.zcard(s.tier.indexKey), 5);
  t.equal(Number(await s.client.zscore(s.tier.indexKey, entries[2]!.key)), entries[2]!.staleUntil);

  await s.tier.set({ ...entries[0]!, staleUntil: s.clock.now + 99_000 });
  t.equal(await s.client.zcard(s.tier.indexKey), 5, 'an overwrite moves the score, adds no member');
  t.equal(Number(await s.client.zscore(s.tier.indexKey, entries[0]!.key)), s.clock.now + 99_000);

  t.equal(await s.tier.delete(entries[1]!.key), true);
  t.equal(await s.client.zscore(s.tier.indexKey, entries[1]!.key), null, 'delete removes the member');
  t.equal((await s.tier.stats()).entries, 4);

  // Past two of the remaining stale windows (30 s and 40 s); Redis still holds the keys, its clock has not moved.
  s.clock.now += 40_000;
  t.equal((await s.tier.stats()).entries, 2, 'stats prunes members past staleUntil');
  t.equal(await s.client.zcard(s.tier.indexKey), 2);
});

t.test('setting an already expired entry removes the older one and its index member', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const entry = testEntry(s.clock.now);
  await s.tier.set(entry);
  await s.tier.set({ ...entry, staleUntil: s.clock.now, expiresAt: s.clock.now });
  t.equal(await s.client.exists(s.tier.entryKey(entry.key)), 0);
  t.equal(await s.client.zscore(s.tier.indexKey, entry.key), null);
});

t.test('clear() removes only its own namespace, stragglers and other versions included', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  // Starts with the first namespace's name, so a sloppy SCAN pattern would catch it.
  const otherNamespace = `${s.namespace}-b`;
  t.teardown(() => deleteNamespace(s.url, otherNamespace));
  const other = new RedisTier({ client: s.client, namespace: otherNamespace, compressAboveBytes: COMPRESS_ABOVE, now: () => s.clock.now });

  const mine = Array.from({ length: 1_200 }, () => testEntry(s.clock.now));
  await Promise.all(mine.map((e) => s.tier.set(e)));
  const theirs = [testEntry(s.clock.now), testEntry(s.clock.now)];
  for (const e of theirs) await other.set(e);
  const orphan = `sidecache:${s.namespace}:v${ENTRY_FORMAT_VERSION}:e:orphan-without-index`;
  const oldVersion = `sidecache:${s.namespace}:v0:e:api:shared:old`;
  await s.client.set(orphan, 'x', 'PX', 60_000);
  await s.client.set(oldVersion, 'x', 'PX', 60_000);

  await s.tier.clear();
  t.equal((await s.tier.stats()).entries, 0);
  t.equal(await s.client.exists(s.tier.indexKey), 0, 'index deleted');
  t.equal(await s.client.exists(orphan, oldVersion), 0, 'stragglers deleted');
  let left = 0;
  for (const e of mine.slice(0, 50)) left += await s.client.exists(s.tier.entryKey(e.key));
  t.equal(left, 0, 'entries deleted');
  for (const e of theirs) t.ok(await other.get(e.key), 'the other namespace keeps its entries');
  t.equal((await other.stats()).entries, 2);
});

t.test('large compressible bodies are stored compressed and smaller', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const json = Buffer.from(JSON.stringify(Array.from({ length: 3_000 }, (_, i) => ({ id: i, name: `Account ${i}`, industry: 'Tech', active: i % 2 === 0 }))));
  const entry = testEntry(s.clock.now, { body: json });
  await s.tier.set(entry);
  const stored = await s.client.strlen(s.tier.entryKey(entry.key));
  t.ok(stored < json.length / 4, `stored ${stored} bytes for a ${json.length}-byte body`);
  t.ok((await s.tier.get(entry.key))?.body.equals(json), 'reads back intact');

  const plain = new RedisTier({ client: s.client, namespace: s.namespace, compressAboveBytes: Number.MAX_SAFE_INTEGER, now: () => s.clock.now });
  const uncompressed = testEntry(s.clock.now, { body: json });
  await plain.set(uncompressed);
  t.ok((await s.client.strlen(plain.entryKey(uncompressed.key))) > json.length, 'without compression it is stored raw');

  const stats = await s.tier.stats();
  t.ok(stats.bytes >= 2 * json.length, `stats.bytes (${stats.bytes}) counts logical, uncompressed sizes`);
});

t.test('stats.bytes is estimated from a sample when there are many entries', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const entries = Array.from({ length: 200 }, () => testEntry(s.clock.now, { body: Buffer.alloc(1_000, 7) }));
  await Promise.all(entries.map((e) => s.tier.set(e)));
  const stats = await s.tier.stats();
  t.equal(stats.entries, 200);
  t.ok(stats.bytes > 200 * 1_000 && stats.bytes < 200 * 1_400, `bytes ${stats.bytes} ≈ 200 × ~1.2 KB`);
});

t.test('a value that is not an envelope of ours reads as a miss', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  await s.client.set(s.tier.entryKey('api:shared:garbage'), Buffer.from([1, 0, 0xc8, 0, 0xff]), 'PX', 60_000);
  await s.client.set(s.tier.entryKey('api:shared:json'), '{"key":"api:shared:json"}', 'PX', 60_000);
  t.equal(await s.tier.get('api:shared:garbage'), undefined);
  t.equal(await s.tier.get('api:shared:json'), undefined);
  // An envelope stored under another key (a copy, a hash collision in a future format) is not served.
  const entry = testEntry(s.clock.now);
  await s.tier.set(entry);
  await s.client.copy(s.tier.entryKey(entry.key), s.tier.entryKey('api:shared:copy'));
  t.equal(await s.tier.get('api:shared:copy'), undefined);
});

t.test('rejects a namespace that could collide with another in key patterns', async (t) => {
  const fake = {} as Redis;
  for (const namespace of ['', 'a:b', 'a*', 'a b', 'x'.repeat(65)]) {
    t.throws(() => new RedisTier({ client: fake, namespace, compressAboveBytes: 0 }), /namespace/, JSON.stringify(namespace));
  }
});
