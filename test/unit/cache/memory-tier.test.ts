import t from 'tap';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import { entrySize } from '../../../src/cache/entry.js';
import { CONTRACT_START, runTierContract, testEntry } from '../../helpers/tier-contract.js';

void runTierContract(t, 'MemoryTier', async (now) => new MemoryTier({ maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 }, now));

/** A memory tier on a controllable clock. */
function memory(config: { maxBytes?: number; maxEntries?: number } = {}) {
  const clock = { now: CONTRACT_START };
  const tier = new MemoryTier({ maxBytes: config.maxBytes ?? 1024 * 1024, maxEntries: config.maxEntries ?? 1000 }, () => clock.now);
  return { tier, clock };
}

t.test('MemoryTier specifics', async (t) => {
  t.test('name is "memory"', async (t) => {
    t.equal(memory().tier.name, 'memory');
  });

  t.test('peek returns the entry before staleUntil', async (t) => {
    const { tier, clock } = memory();
    const entry = testEntry(clock.now, { staleUntil: clock.now + 1_000 });
    tier.put(entry);
    clock.now += 999;
    t.equal(tier.peek(entry.key), entry);
  });

  t.test('peek returns undefined from staleUntil on', async (t) => {
    const { tier, clock } = memory();
    const entry = testEntry(clock.now, { staleUntil: clock.now + 1_000 });
    tier.put(entry);
    clock.now += 1_000;
    t.equal(tier.peek(entry.key), undefined);
  });

  t.test('an expired entry is evicted when read', async (t) => {
    const { tier, clock } = memory();
    const entry = testEntry(clock.now, { staleUntil: clock.now + 1_000 });
    tier.put(entry);
    t.equal((await tier.stats()).entries, 1);
    clock.now += 5_000;
    tier.peek(entry.key);
    t.same(await tier.stats(), { entries: 0, bytes: 0 });
  });

  t.test('put ignores an entry already past staleUntil', async (t) => {
    const { tier, clock } = memory();
    tier.put(testEntry(clock.now - 10, { expiresAt: clock.now - 5, staleUntil: clock.now }));
    t.equal((await tier.stats()).entries, 0);
  });

  t.test('stats bytes is the sum of entrySize', async (t) => {
    const { tier, clock } = memory();
    const a = testEntry(clock.now, { body: Buffer.alloc(100) });
    const b = testEntry(clock.now, { body: Buffer.alloc(300), headers: { link: ['<a>', '<b>'] }, tags: ['x', 'y'] });
    tier.put(a);
    tier.put(b);
    t.same(await tier.stats(), { entries: 2, bytes: entrySize(a) + entrySize(b) });
  });

  t.test('the byte bound evicts the least recently used entry', async (t) => {
    const make = (now: number) => testEntry(now, { body: Buffer.alloc(1_000) });
    const size = entrySize(make(0));
    const { tier, clock } = memory({ maxBytes: size * 2 + 10 });
    const a = make(clock.now);
    const b = make(clock.now);
    const c = make(clock.now);
    tier.put(a);
    tier.put(b);
    t.ok(tier.peek(a.key), 'a read makes a recently used');
    tier.put(c);
    t.ok(tier.peek(a.key), 'a kept');
    t.equal(tier.peek(b.key), undefined, 'b evicted');
    t.ok(tier.peek(c.key), 'c kept');
    t.ok((await tier.stats()).bytes <= size * 2 + 10);
  });

  t.test('the byte bound evicts as many entries as needed for a big one', async (t) => {
    const small = (now: number) => testEntry(now, { body: Buffer.alloc(100) });
    const smallSize = entrySize(small(0));
    const { tier, clock } = memory({ maxBytes: smallSize * 4 });
    const smalls = [small(clock.now), small(clock.now), small(clock.now), small(clock.now)];
    for (const e of smalls) tier.put(e);
    const big = testEntry(clock.now, { body: Buffer.alloc(smallSize * 2) });
    tier.put(big);
    t.ok(tier.peek(big.key), 'big stored');
    t.ok((await tier.stats()).bytes <= smallSize * 4, 'stays within maxBytes');
    t.equal(tier.peek(smalls[0]!.key), undefined, 'oldest evicted first');
  });

  t.test('the entry count bound evicts the least recently used entry', async (t) => {
    const { tier, clock } = memory({ maxEntries: 2 });
    const [a, b, c] = [testEntry(clock.now), testEntry(clock.now), testEntry(clock.now)];
    tier.put(a);
    tier.put(b);
    tier.peek(a.key);
    tier.put(c);
    t.equal((await tier.stats()).entries, 2);
    t.ok(tier.peek(a.key), 'a kept');
    t.equal(tier.peek(b.key), undefined, 'b evicted');
    t.ok(tier.peek(c.key), 'c kept');
  });

  t.test('an entry larger than maxBytes is not stored', async (t) => {
    const { tier, clock } = memory({ maxBytes: 4_096 });
    const huge = testEntry(clock.now, { body: Buffer.alloc(8_192) });
    tier.put(huge);
    t.equal(tier.peek(huge.key), undefined);
    t.same(await tier.stats(), { entries: 0, bytes: 0 });
  });

  t.test('an entry larger than maxBytes does not evict the others', async (t) => {
    const { tier, clock } = memory({ maxBytes: 4_096 });
    const small = testEntry(clock.now);
    tier.put(small);
    tier.put(testEntry(clock.now, { body: Buffer.alloc(8_192) }));
    t.equal(tier.peek(small.key), small);
  });

  t.test('an oversized overwrite drops the older entry instead of serving it', async (t) => {
    const { tier, clock } = memory({ maxBytes: 4_096 });
    const small = testEntry(clock.now);
    tier.put(small);
    tier.put({ ...small, body: Buffer.alloc(8_192) });
    t.equal(tier.peek(small.key), undefined);
  });

  t.test('remove reports whether something was removed', async (t) => {
    const { tier, clock } = memory();
    const entry = testEntry(clock.now);
    tier.put(entry);
    t.equal(tier.remove(entry.key), true);
    t.equal(tier.remove(entry.key), false);
  });

  t.test('get and peek agree', async (t) => {
    const { tier, clock } = memory();
    const entry = testEntry(clock.now);
    await tier.set(entry);
    t.equal(tier.peek(entry.key), await tier.get(entry.key));
  });

  t.test('close empties the tier', async (t) => {
    const { tier, clock } = memory();
    tier.put(testEntry(clock.now));
    await tier.close();
    t.equal((await tier.stats()).entries, 0);
  });
});
