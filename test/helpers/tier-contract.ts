import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { CacheEntry } from '../../src/cache/entry.js';
import type { CacheTier } from '../../src/cache/store.js';

/** The instant every contract test starts its injected clock at (epoch ms). */
export const CONTRACT_START = 1_700_000_000_000;

/** A complete cache entry stored at `now`, fresh for 60 s and stale-servable for 120 s. */
export function testEntry(now: number, overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key: `api:shared:${randomUUID()}`,
    upstream: 'api',
    path: '/items/1?a=1',
    status: 200,
    headers: { 'content-type': 'application/json', etag: '"v1"' },
    body: Buffer.from('{"id":1}'),
    storedAt: now,
    expiresAt: now + 60_000,
    staleUntil: now + 120_000,
    tags: ['item:1'],
    scope: 'shared',
    ...overrides,
  };
}

/**
 * Conformance suite for the `CacheTier` contract (src/cache/store.ts). Tier-agnostic: it only
 * uses the interface, drives time through the clock it hands to `makeTier`, and gives every
 * entry a fresh random key so it can run against a shared Redis or Postgres.
 */
export async function runTierContract(
  t: Test,
  name: string,
  makeTier: (now: () => number) => Promise<CacheTier>,
): Promise<void> {
  await t.test(`${name} honours the CacheTier contract`, async (t) => {
    /** A fresh tier on a controllable clock, closed when the subtest ends. */
    async function setup(t: Test): Promise<{ tier: CacheTier; clock: { now: number } }> {
      const clock = { now: CONTRACT_START };
      const tier = await makeTier(() => clock.now);
      t.teardown(() => tier.close());
      return { tier, clock };
    }

    /** Asserts that a stored entry came back field for field, with a real Buffer body. */
    function sameEntry(t: Test, actual: CacheEntry | undefined, expected: CacheEntry): void {
      if (actual === undefined) {
        t.fail(`entry ${expected.key} was not returned`);
        return;
      }
      t.ok(Buffer.isBuffer(actual.body), 'body is a Buffer');
      t.ok(actual.body.equals(expected.body), `body round-trips (${expected.body.length} bytes)`);
      const { body: _a, ...actualRest } = actual;
      const { body: _e, ...expectedRest } = expected;
      t.same(actualRest, expectedRest, 'every other field round-trips');
    }

    t.test('has a known tier name', async (t) => {
      const { tier } = await setup(t);
      t.ok(['memory', 'redis', 'postgres'].includes(tier.name));
    });

    t.test('get of a missing key resolves undefined', async (t) => {
      const { tier } = await setup(t);
      t.equal(await tier.get(`api:shared:${randomUUID()}`), undefined);
    });

    t.test('set then get returns the same entry', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now);
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('round-trips a binary body with all 256 byte values', async (t) => {
      const { tier, clock } = await setup(t);
      const bytes = Buffer.alloc(512);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
      const entry = testEntry(clock.now, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('round-trips a body that is not valid UTF-8', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { body: Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xed, 0xa0, 0x80]) });
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('round-trips a 5 MB body', async (t) => {
      const { tier, clock } = await setup(t);
      const body = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
      const entry = testEntry(clock.now, { body });
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('round-trips an empty body', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { status: 200, body: Buffer.alloc(0) });
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('keeps repeated headers as arrays in order, single ones as strings', async (t) => {
      const { tier, clock } = await setup(t);
      const headers = {
        'content-type': 'text/plain; charset=utf-8',
        link: ['<https://a.example/1>; rel="next"', '<https://a.example/9>; rel="last"'],
        'x-multi': ['b', 'a', 'b'],
        'x-one-item-array': ['only'],
      };
      const entry = testEntry(clock.now, { headers });
      await tier.set(entry);
      const got = await tier.get(entry.key);
      t.same(got?.headers, headers);
      t.ok(Array.isArray(got?.headers['x-one-item-array']), 'a one-value array stays an array');
      t.equal(typeof got?.headers['content-type'], 'string');
    });

    t.test('round-trips an entry without headers', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { headers: {} });
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('keeps tags in order', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { tags: ['sf:Account:001', 'sf:Account', 'Compañía:ü'] });
      await tier.set(entry);
      t.same((await tier.get(entry.key))?.tags, ['sf:Account:001', 'sf:Account', 'Compañía:ü']);
    });

    t.test('round-trips an entry without tags', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { tags: [] });
      await tier.set(entry);
      t.same((await tier.get(entry.key))?.tags, []);
    });

    t.test('keeps status, scope, upstream, path and timestamps', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, {
        key: `jira:sess:${randomUUID()}`,
        upstream: 'jira',
        path: '/rest/api/2/issue/ABC-1?expand=names',
        status: 404,
        scope: 'session',
        storedAt: clock.now - 1_000,
        expiresAt: clock.now + 5_000,
        staleUntil: clock.now + 9_000,
      });
      await tier.set(entry);
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('an overwrite replaces the entry', async (t) => {
      const { tier, clock } = await setup(t);
      const first = testEntry(clock.now, { tags: ['old'], headers: { etag: '"1"' }, body: Buffer.from('one') });
      const second = testEntry(clock.now + 10, {
        key: first.key,
        tags: ['new'],
        headers: { etag: '"2"', 'x-extra': ['a', 'b'] },
        body: Buffer.from('two'),
        status: 203,
      });
      await tier.set(first);
      await tier.set(second);
      sameEntry(t, await tier.get(first.key), second);
    });

    t.test('an overwrite does not add to the entry count', async (t) => {
      const { tier, clock } = await setup(t);
      await tier.clear();
      const entry = testEntry(clock.now);
      await tier.set(entry);
      await tier.set({ ...entry, body: Buffer.from('again') });
      t.equal((await tier.stats()).entries, 1);
    });

    t.test('an overwrite with an already expired entry leaves nothing servable', async (t) => {
      const { tier, clock } = await setup(t);
      const fresh = testEntry(clock.now);
      await tier.set(fresh);
      await tier.set({ ...fresh, body: Buffer.from('gone'), expiresAt: clock.now - 2, staleUntil: clock.now - 1 });
      t.equal(await tier.get(fresh.key), undefined);
    });

    t.test('keys are independent', async (t) => {
      const { tier, clock } = await setup(t);
      const a = testEntry(clock.now, { body: Buffer.from('a') });
      const b = testEntry(clock.now, { body: Buffer.from('b') });
      await tier.set(a);
      await tier.set(b);
      sameEntry(t, await tier.get(a.key), a);
      sameEntry(t, await tier.get(b.key), b);
    });

    t.test('a key that is a prefix of another is a different key', async (t) => {
      const { tier, clock } = await setup(t);
      const long = testEntry(clock.now);
      await tier.set(long);
      t.equal(await tier.get(long.key.slice(0, -1)), undefined);
    });

    t.test('delete removes the entry and resolves true', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now);
      await tier.set(entry);
      t.equal(await tier.delete(entry.key), true);
      t.equal(await tier.get(entry.key), undefined);
    });

    t.test('delete of a missing key resolves false', async (t) => {
      const { tier } = await setup(t);
      t.equal(await tier.delete(`api:shared:${randomUUID()}`), false);
    });

    t.test('delete leaves other entries alone', async (t) => {
      const { tier, clock } = await setup(t);
      const a = testEntry(clock.now);
      const b = testEntry(clock.now);
      await tier.set(a);
      await tier.set(b);
      await tier.delete(a.key);
      sameEntry(t, await tier.get(b.key), b);
    });

    t.test('clear removes every entry', async (t) => {
      const { tier, clock } = await setup(t);
      const entries = [testEntry(clock.now), testEntry(clock.now), testEntry(clock.now)];
      for (const e of entries) await tier.set(e);
      await tier.clear();
      for (const e of entries) t.equal(await tier.get(e.key), undefined, e.key);
      t.equal((await tier.stats()).entries, 0);
    });

    t.test('stats counts entries and bytes', async (t) => {
      const { tier, clock } = await setup(t);
      await tier.clear();
      const empty = await tier.stats();
      t.equal(empty.entries, 0);
      await tier.set(testEntry(clock.now, { body: Buffer.alloc(10_000, 1) }));
      await tier.set(testEntry(clock.now, { body: Buffer.alloc(10_000, 2) }));
      const stats = await tier.stats();
      t.equal(stats.entries, 2);
      t.ok(stats.bytes >= 20_000, `bytes (${stats.bytes}) cover the bodies`);
    });

    t.test('stats drop after delete', async (t) => {
      const { tier, clock } = await setup(t);
      await tier.clear();
      const a = testEntry(clock.now);
      await tier.set(a);
      await tier.set(testEntry(clock.now));
      await tier.delete(a.key);
      t.equal((await tier.stats()).entries, 1);
    });

    t.test('returns an entry past expiresAt but before staleUntil (tiers do not judge freshness)', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { expiresAt: clock.now + 1_000, staleUntil: clock.now + 10_000 });
      await tier.set(entry);
      clock.now += 5_000;
      sameEntry(t, await tier.get(entry.key), entry);
    });

    t.test('does not return an entry once staleUntil has passed', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { expiresAt: clock.now + 1_000, staleUntil: clock.now + 2_000 });
      await tier.set(entry);
      clock.now += 2_001;
      t.equal(await tier.get(entry.key), undefined);
    });

    t.test('does not return an entry at exactly staleUntil', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now, { expiresAt: clock.now + 1_000, staleUntil: clock.now + 2_000 });
      await tier.set(entry);
      clock.now += 2_000;
      t.equal(await tier.get(entry.key), undefined);
    });

    t.test('does not keep an entry that is already past staleUntil when set', async (t) => {
      const { tier, clock } = await setup(t);
      const entry = testEntry(clock.now - 10_000, { expiresAt: clock.now - 5_000, staleUntil: clock.now - 1 });
      await tier.set(entry);
      t.equal(await tier.get(entry.key), undefined);
    });

    t.test('concurrent sets of different keys all land', async (t) => {
      const { tier, clock } = await setup(t);
      const entries = Array.from({ length: 20 }, (_, i) => testEntry(clock.now, { body: Buffer.from(`body-${i}`) }));
      await Promise.all(entries.map((e) => tier.set(e)));
      const got = await Promise.all(entries.map((e) => tier.get(e.key)));
      t.same(got.map((e) => e?.body.toString()), entries.map((e) => e.body.toString()));
    });
  });
}
