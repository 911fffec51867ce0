// The listing and inspection contract every ListableTier meets (src/cache/store.ts), on a manual clock.
import type { Test } from 'tap';
import { entrySize, type CacheEntry } from '../../src/cache/entry.js';
import { InvalidListPosition, type CacheTier, type ListableTier, type ListOptions } from '../../src/cache/store.js';
import { CONTRACT_START, testEntry } from './tier-contract.js';

export type Tier = CacheTier & ListableTier;
export type MakeTier = (t: Test, now: () => number) => Promise<Tier | null>;

/** Paths with LIKE metacharacters, so a prefix must match literally. */
const TRICKY_PATHS = ['/a%b/1', '/a_b/2', '/axb/3', '/a/4', '/a\\b/5'];

/** 40 entries over two upstreams, several paths, equal staleUntil values (ties) and varied bodies. */
export function fixture(now: number): CacheEntry[] {
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
export async function walk(tier: Tier, options: Omit<ListOptions, 'after'>): Promise<{ keys: string[]; pages: number }> {
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

export async function runListingContract(t: Test, name: string, make: MakeTier): Promise<void> {
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

