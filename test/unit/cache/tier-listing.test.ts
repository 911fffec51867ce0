import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Cluster, Redis } from 'ioredis';
import { KeyRing } from '../../../src/cache/seal.js';
import { EntryCodec } from '../../../src/cache/sealed-codec.js';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import { PostgresTier } from '../../../src/cache/tiers/postgres.js';
import { RedisTier } from '../../../src/cache/tiers/redis.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { databases } from '../../helpers/database.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';
import { fixture, runListingContract, walk, type Tier } from '../../helpers/listing-contract.js';

async function redisClient(t: Test, url: string): Promise<Redis | Cluster> {
  const client = createRedisClient(url, { connectTimeoutMs: 2_000, name: 'sidecache-test', log: () => undefined });
  t.teardown(() => client.disconnect());
  await waitForReady(client, 5_000);
  return client;
}

void runListingContract(t, 'MemoryTier', async (_t, now) => new MemoryTier({ maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 }, now));

void runListingContract(t, 'RedisTier', async (t, now) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return null;
  return new RedisTier({ client: await redisClient(t, redis.url), namespace: redis.namespace, compressAboveBytes: 64, now });
});

for (const target of await databases(t)) {
  void runListingContract(t, `PostgresTier on ${target.name}`, async (t, now) => {
    const db = await target.open(t, { migrate: true });
    const tier = new PostgresTier({ db, now });
    t.teardown(() => tier.close());
    return tier;
  });
}

// Sealed entries (encryption at rest) are listed by opening them: the same contract holds.
const ring = KeyRing.parse(randomBytes(32).toString('base64'), null);
void runListingContract(t, 'RedisTier, sealed', async (t, now) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return null;
  return new RedisTier({ client: await redisClient(t, redis.url), namespace: redis.namespace, compressAboveBytes: 64, now, codec: new EntryCodec('redis', ring) });
});
for (const target of await databases(t)) {
  void runListingContract(t, `PostgresTier on ${target.name}, sealed`, async (t, now) => {
    const tier = new PostgresTier({ db: await target.open(t, { migrate: true }), now, codec: new EntryCodec('postgres', ring) });
    t.teardown(() => tier.close());
    return tier;
  });
}

t.test('MemoryTier listing and inspection do not change recency', async (t) => {
  const tier = new MemoryTier({ maxBytes: 1024 * 1024, maxEntries: 100 }, () => CONTRACT_START);
  for (const entry of fixture(CONTRACT_START)) tier.put(entry);
  const before = [...tier.keys()];
  await tier.listEntries({ limit: 5 });
  await tier.describeEntry(before[before.length - 1]!);
  tier.inspect(before[before.length - 2]!);
  await tier.hasEntries(before);
  t.same([...tier.keys()], before);
});

t.test('RedisTier specifics', async (t) => {
  const setup = async (t: Test, listScanBudget?: number) => {
    const redis = await redisOrSkip(t);
    if (redis === null) return null;
    const clock = { now: CONTRACT_START };
    const client = await redisClient(t, redis.url);
    const tier = new RedisTier({ client, namespace: redis.namespace, compressAboveBytes: 64, now: () => clock.now, ...(listScanBudget === undefined ? {} : { listScanBudget }) });
    return { tier, clock, client: client as Redis };
  };

  t.test('the scan budget bounds a page: short pages carry a next, and the walk still sees everything', async (t) => {
    const s = await setup(t, 10);
    if (s === null) return;
    const wanted: string[] = [];
    for (let i = 0; i < 60; i++) {
      const upstream = i % 10 === 0 ? 'api' : 'b';
      const entry = testEntry(s.clock.now, { key: `${upstream}:shared:${String(i).padStart(3, '0')}`, upstream, staleUntil: s.clock.now + 100_000 + i });
      if (upstream === 'api') wanted.push(entry.key);
      await s.tier.set(entry);
    }
    const first = await s.tier.listEntries({ limit: 50, upstream: 'api' });
    t.ok(first.entries.length <= 1, 'at most the budget was examined');
    t.not(first.next, null, 'a short page still has a next');
    const { keys, pages } = await walk(s.tier, { limit: 50, upstream: 'api' });
    t.same(keys, wanted);
    t.ok(pages >= 6, `${pages} pages of at most 10 members each`);
  });

  t.test('ties on staleUntil: resumes inside a tie group, even after its position was deleted', async (t) => {
    const s = await setup(t, 7);
    if (s === null) return;
    const keys: string[] = [];
    for (let i = 0; i < 30; i++) {
      const entry = testEntry(s.clock.now, { key: `api:shared:t${String(i).padStart(2, '0')}`, staleUntil: s.clock.now + 100_000 });
      keys.push(entry.key);
      await s.tier.set(entry);
    }
    const seen: string[] = [];
    let after: string | undefined;
    for (let round = 0; round < 100; round++) {
      const page = await s.tier.listEntries({ limit: 4, ...(after === undefined ? {} : { after }) });
      seen.push(...page.entries.map((e) => e.key));
      if (page.next === null) break;
      after = page.next;
      // The entry the position names disappears before the next page.
      const last = page.entries[page.entries.length - 1];
      if (last !== undefined && round % 2 === 0) await s.tier.delete(last.key);
    }
    t.same(seen, keys, 'index order (member order among equal scores), each once');
  });

  t.test('entries whose metadata outgrows the first GETRANGE are still listed and described', async (t) => {
    const s = await setup(t);
    if (s === null) return;
    const big = testEntry(s.clock.now, { key: 'api:shared:big', headers: { 'x-big': 'h'.repeat(5_000) }, body: Buffer.alloc(100_000, 'b') });
    const huge = testEntry(s.clock.now, { key: 'api:shared:huge', headers: { 'x-huge': 'h'.repeat(70_000) }, body: Buffer.alloc(10, 'b') });
    await s.tier.set(big);
    await s.tier.set(huge);
    const { entries } = await s.tier.listEntries({ limit: 10 });
    t.same(entries.map((e) => e.key).sort(), ['api:shared:big', 'api:shared:huge']);
    t.same(entries.map((e) => e.bodyBytes).sort((a, b) => a - b), [10, 100_000]);
    t.same((await s.tier.describeEntry('api:shared:huge'))?.headerNames, ['x-huge']);
  });

  t.test('an index member without its entry is skipped', async (t) => {
    const s = await setup(t);
    if (s === null) return;
    const entry = testEntry(s.clock.now, { key: 'api:shared:orphan' });
    await s.tier.set(entry);
    await s.client.unlink(s.tier.entryKey(entry.key));
    const page = await s.tier.listEntries({ limit: 10 });
    t.same(page.entries, []);
    t.equal(page.next, null);
  });
});

t.test('PostgresTier: a listing page is an index range scan (no sort, no seq scan)', async (t) => {
  for (const target of await databases(t)) {
    await t.test(target.name, async (t) => {
      const db = await target.open(t, { migrate: true });
      const statements: Array<{ text: string; params: readonly unknown[] }> = [];
      const recording: SqlDatabase = {
        kind: db.kind,
        query: (text, params) => {
          statements.push({ text, params: params ?? [] });
          return db.query(text, params);
        },
        withClient: (fn) => db.withClient(fn),
        poolStats: () => db.poolStats(),
        close: () => db.close(),
      };
      const tier = new PostgresTier({ db: recording, now: () => CONTRACT_START });
      t.teardown(() => tier.close());
      for (const entry of fixture(CONTRACT_START)) await tier.set(entry);
      const first = await tier.listEntries({ limit: 3, upstream: 'api', prefix: '/items/' });
      await tier.listEntries({ limit: 3, upstream: 'api', prefix: '/items/', after: first.next! });
      await tier.listEntries({ limit: 3 });
      const listings = statements.filter((s) => s.text.includes('ORDER BY'));
      t.equal(listings.length, 3);
      await db.withClient(async (client) => {
        await client.query('BEGIN');
        try {
          // A tiny table favours other plans; discourage them to see whether the index alone can
          // serve the query in order (a Sort would still show if it could not).
          for (const setting of ['enable_seqscan', 'enable_bitmapscan', 'enable_sort']) await client.query(`SET LOCAL ${setting} = off`);
          for (const { text, params } of listings) {
            const { rows } = await client.query<Record<string, string>>(`EXPLAIN ${text}`, params);
            const plan = rows.map((row) => Object.values(row)[0]).join('\n');
            t.match(plan, /Index Scan using api_cache_listing_idx/, 'uses the listing index');
            t.notMatch(plan, /Sort|Seq Scan/, 'no sort, no seq scan');
          }
        } finally {
          await client.query('ROLLBACK');
        }
      });
    });
  }
});
