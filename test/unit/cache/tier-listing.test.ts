import t, { type Test } from 'tap';
import type { Cluster, Redis } from 'ioredis';
import { entrySize, type CacheEntry } from '../../../src/cache/entry.js';
import { InvalidListPosition, type CacheTier, type ListableTier, type ListOptions } from '../../../src/cache/store.js';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import { PostgresTier } from '../../../src/cache/tiers/postgres.js';
import { RedisTier } from '../../../src/cache/tiers/redis.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { databases } from '../../helpers/database.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';

type Tier = CacheTier & ListableTier;
type MakeTier = (t: Test, now: () => number) => Promise<Tier | null>;

/** Paths with LIKE metacharacters, so a prefix must match literally. */
const TRICKY_PATHS = ['/a%b/1', '/a_b/2', '/axb/3', '/a/4', '/a\\b/5'];

/** 40 entries over two upstreams, several paths, equal staleUntil values (ties) and varied bodies. */
function fixture(now: number): CacheEntry[] {
  const entries: CacheEntry[] = [];
  for (let i = 0; i < 40; i++) {
    const upstream = i % 3 === 0 ? 'b' : 'api';
    const path = i < TRICKY_PATHS.length ? TRICKY_PATHS[i]! : `/items/${i % 6}/n${String(i).padStart(2, '0')}?q=${i}`;
    entries.push(
      testEntry(now, {
        key: `${upstream}:shared:k${String((i * 7) % 40).padStart(2, '0')}`,
        upstream,
        path,
        body: Buffer.alloc(i * 10, 'x'),
        tags: i % 2 === 0 ? ['even', `n:${i}`] : [],
        headers: { 'content-type': 'application/json', [`x-h${i % 3}`]: 'v', 'set-cookie': ['a=1', 'b=2'] },
        staleUntil: now + 120_000 + (i % 4),
      }),
    );
  }
  return entries;
}

/** Follows `next` to the end; fails on a walk that does not end. */
async function walk(tier: Tier, options: Omit<ListOptions, 'after'>): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await tier.listEntries({ ...options, ...(after === undefined ? {} : { after }) });
    keys.push(...page.entries.map((e) => e.key));
    pages++;
    if (page.next === null) return { keys, pages };
    if (pages > 1000) throw new Error('listing does not end');
    after = page.next;
  }
}

async function runListingContract(t: Test, name: string, make: MakeTier): Promise<void> {
  await t.test(`${name}: listing and inspection`, async (t) => {
    const clock = { now: CONTRACT_START };
    const tier = await make(t, () => clock.now);
    if (tier === null) return;
    const entries = fixture(clock.now);
    for (const entry of entries) await tier.set(entry);
    const byKey = new Map(entries.map((e) => [e.key, e]));
    const all = (await tier.listEntries({ limit: 1000 })).entries.map((e) => e.key);

    t.test('one big page holds every live entry once', async (t) => {
      t.same([...all].sort(), [...byKey.keys()].sort());
    });

    for (const limit of [1, 3, 7, 40]) {
      t.test(`pages of ${limit} walk the same order, with no duplicates or gaps`, async (t) => {
        const { keys, pages } = await walk(tier, { limit });
        t.same(keys, all);
        t.ok(pages >= Math.ceil(entries.length / limit), `${pages} pages`);
      });
    }

    t.test('items are metadata: no body, no headers; sizes as the tiers count them', async (t) => {
      const { entries: items } = await tier.listEntries({ limit: 1000 });
      for (const item of items) {
        const entry = byKey.get(item.key)!;
        t.notOk('body' in item, 'no body');
        t.notOk('headers' in item, 'no headers');
        t.equal(item.bodyBytes, entry.body.length, 'bodyBytes');
        t.equal(item.sizeBytes, entrySize(entry), 'sizeBytes');
        t.same(
          { upstream: item.upstream, path: item.path, status: item.status, scope: item.scope, tags: item.tags },
          { upstream: entry.upstream, path: entry.path, status: entry.status, scope: entry.scope, tags: entry.tags },
        );
        t.same([item.storedAt, item.expiresAt, item.staleUntil], [entry.storedAt, entry.expiresAt, entry.staleUntil]);
      }
    });

    t.test('filters: upstream, and a literal path prefix within it', async (t) => {
      const expect = (pred: (e: CacheEntry) => boolean) => entries.filter(pred).map((e) => e.key).sort();
      t.same((await walk(tier, { limit: 4, upstream: 'b' })).keys.sort(), expect((e) => e.upstream === 'b'), 'upstream b');
      t.same((await walk(tier, { limit: 4, upstream: 'api' })).keys.sort(), expect((e) => e.upstream === 'api'), 'upstream api');
      t.same((await walk(tier, { limit: 2, upstream: 'api', prefix: '/items/1' })).keys.sort(), expect((e) => e.upstream === 'api' && e.path.startsWith('/items/1')));
      for (const prefix of ['/a%', '/a_', '/a\\', '/a', '/items/']) {
        for (const upstream of ['api', 'b']) {
          const got = (await walk(tier, { limit: 3, upstream, prefix })).keys.sort();
          t.same(got, expect((e) => e.upstream === upstream && e.path.startsWith(prefix)), `${upstream} ${prefix}`);
        }
      }
      t.same((await tier.listEntries({ limit: 10, upstream: 'nope' })).entries, [], 'unknown upstream: nothing');
    });

    t.test('a position stays valid when the entry it names is deleted', async (t) => {
      const first = await tier.listEntries({ limit: 5 });
      const named = first.entries[4]!.key;
      await tier.delete(named);
      t.teardown(() => tier.set(byKey.get(named)!));
      const keys = [...first.entries.map((e) => e.key)];
      let after: string | null = first.next;
      while (after !== null) {
        const page = await tier.listEntries({ limit: 3, after });
        keys.push(...page.entries.map((e) => e.key));
        after = page.next;
      }
      t.same(keys, all, 'the walk continues right after the deleted entry');
    });

    t.test('describeEntry: metadata and header names; hasEntries', async (t) => {
      const entry = entries[7]!;
      const described = await tier.describeEntry(entry.key);
      t.same(described?.headerNames.slice().sort(), Object.keys(entry.headers).sort());
      t.equal(described?.bodyBytes, entry.body.length);
      t.equal(described?.path, entry.path);
      t.notOk(described !== undefined && 'body' in described, 'no body');
      t.equal(await tier.describeEntry('api:shared:missing'), undefined);
      const held = await tier.hasEntries([entries[0]!.key, 'api:shared:missing', entries[1]!.key]);
      t.same([...held].sort(), [entries[0]!.key, entries[1]!.key].sort());
      t.same([...(await tier.hasEntries([]))], []);
    });

    t.test('positions from elsewhere are refused', async (t) => {
      for (const after of ['garbage!', Buffer.from('[1]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[null,null,null]').toString('base64url')]) {
        const refused = await tier.listEntries({ limit: 5, after }).then(
          () => undefined,
          (err: unknown) => err,
        );
        t.ok(refused instanceof InvalidListPosition, `${after}: InvalidListPosition`);
      }
    });

    t.test('expired entries are neither listed nor described', async (t) => {
      const at = clock.now;
      t.teardown(() => {
        clock.now = at;
      });
      clock.now = CONTRACT_START + 120_002; // at or past the staleUntil of i % 4 in {0, 1, 2}
      const live = entries.filter((e) => e.staleUntil > clock.now).map((e) => e.key);
      t.same((await walk(tier, { limit: 6 })).keys.sort(), live.sort());
      const gone = entries.find((e) => e.staleUntil <= clock.now)!;
      t.equal(await tier.describeEntry(gone.key), undefined);
      t.same([...(await tier.hasEntries([gone.key]))], []);
    });
  });
}

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
