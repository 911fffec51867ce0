import t from 'tap';
import { TierStack } from '../../../src/cache/stack.js';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import type { CacheEntry } from '../../../src/cache/entry.js';
import type { CacheTier, TierName, TierStats } from '../../../src/cache/store.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';

/** A Map-backed lower tier that returns whatever it holds, even past staleUntil. */
class FakeTier implements CacheTier {
  readonly map = new Map<string, CacheEntry>();
  gets = 0;
  sets = 0;
  constructor(readonly name: TierName) {}
  async get(key: string) {
    this.gets += 1;
    return this.map.get(key);
  }
  async set(entry: CacheEntry) {
    this.sets += 1;
    this.map.set(entry.key, entry);
  }
  async delete(key: string) {
    return this.map.delete(key);
  }
  async clear() {
    this.map.clear();
  }
  async stats(): Promise<TierStats> {
    return { entries: this.map.size, bytes: 0 };
  }
  async close() {}
}

function setup(options: { memory?: boolean } = {}) {
  const clock = { now: CONTRACT_START };
  const memory = options.memory === false ? null : new MemoryTier({ maxBytes: 1024 * 1024, maxEntries: 100 }, () => clock.now);
  const redis = new FakeTier('redis');
  const postgres = new FakeTier('postgres');
  const stack = new TierStack({ memory, lower: [redis, postgres], now: () => clock.now });
  return { stack, memory, redis, postgres, clock };
}

t.test('peekMemory returns a stored entry from tier "memory"', async (t) => {
  const { stack, clock } = setup();
  const entry = testEntry(clock.now);
  stack.store(entry);
  t.same(stack.peekMemory(entry.key), { entry, tier: 'memory' });
});

t.test('peekMemory returns undefined for a missing key', async (t) => {
  const { stack } = setup();
  t.equal(stack.peekMemory('api:shared:missing'), undefined);
});

t.test('peekMemory returns undefined once the entry is past staleUntil', async (t) => {
  const { stack, clock } = setup();
  const entry = testEntry(clock.now, { staleUntil: clock.now + 1_000 });
  stack.store(entry);
  clock.now += 1_000;
  t.equal(stack.peekMemory(entry.key), undefined);
});

t.test('peekMemory returns undefined without a memory tier', async (t) => {
  const { stack, redis, clock } = setup({ memory: false });
  const entry = testEntry(clock.now);
  await redis.set(entry);
  t.equal(stack.peekMemory(entry.key), undefined);
});

t.test('tiers lists memory first, then the lower tiers in order', async (t) => {
  t.same(setup().stack.tiers.map((tier) => tier.name), ['memory', 'redis', 'postgres']);
  t.same(setup({ memory: false }).stack.tiers.map((tier) => tier.name), ['redis', 'postgres']);
});

t.test('store writes the entry to every tier', async (t) => {
  const { stack, redis, postgres, clock } = setup();
  const entry = testEntry(clock.now);
  stack.store(entry);
  t.ok(stack.peekMemory(entry.key), 'memory written synchronously');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(redis.map.get(entry.key), entry);
  t.equal(postgres.map.get(entry.key), entry);
});

t.test('lookupLower returns a hit from the first lower tier that has it', async (t) => {
  const { stack, redis, postgres, clock } = setup();
  const entry = testEntry(clock.now);
  await postgres.set(entry);
  t.same(await stack.lookupLower(entry.key), { entry, tier: 'postgres' });
  t.equal(redis.gets, 1, 'redis was asked first');
});

t.test('lookupLower stops at the first hit', async (t) => {
  const { stack, redis, postgres, clock } = setup();
  const entry = testEntry(clock.now);
  await redis.set(entry);
  t.same(await stack.lookupLower(entry.key), { entry, tier: 'redis' });
  t.equal(postgres.gets, 0);
});

t.test('lookupLower promotes a hit into memory', async (t) => {
  const { stack, redis, clock } = setup();
  const entry = testEntry(clock.now);
  await redis.set(entry);
  await stack.lookupLower(entry.key);
  t.same(stack.peekMemory(entry.key), { entry, tier: 'memory' });
});

t.test('lookupLower promotes a hit into the lower tiers above it', async (t) => {
  const { stack, redis, postgres, clock } = setup();
  const entry = testEntry(clock.now);
  await postgres.set(entry);
  await stack.lookupLower(entry.key);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(redis.map.get(entry.key), entry);
});

t.test('promotion keeps the entry absolute expiry', async (t) => {
  const { stack, postgres, clock } = setup();
  const entry = testEntry(clock.now - 30_000, { expiresAt: clock.now + 1_000, staleUntil: clock.now + 2_000 });
  await postgres.set(entry);
  await stack.lookupLower(entry.key);
  const promoted = stack.peekMemory(entry.key)?.entry;
  t.equal(promoted?.expiresAt, entry.expiresAt);
  t.equal(promoted?.staleUntil, entry.staleUntil);
  clock.now += 2_000;
  t.equal(stack.peekMemory(entry.key), undefined, 'the promoted copy expires with the original');
});

t.test('lookupLower skips a lower-tier entry past staleUntil', async (t) => {
  const { stack, redis, postgres, clock } = setup();
  const stale = testEntry(clock.now - 10_000, { expiresAt: clock.now - 5_000, staleUntil: clock.now });
  const good = { ...stale, body: Buffer.from('good'), staleUntil: clock.now + 5_000 };
  await redis.set(stale);
  await postgres.set(good);
  t.same(await stack.lookupLower(stale.key), { entry: good, tier: 'postgres' });
});

t.test('lookupLower does not promote an entry past staleUntil', async (t) => {
  const { stack, redis, clock } = setup();
  const stale = testEntry(clock.now - 10_000, { expiresAt: clock.now - 5_000, staleUntil: clock.now - 1 });
  await redis.set(stale);
  t.equal(await stack.lookupLower(stale.key), undefined);
  t.equal(stack.peekMemory(stale.key), undefined);
});

t.test('lookupLower returns undefined when no lower tier has the key', async (t) => {
  const { stack } = setup();
  t.equal(await stack.lookupLower('api:shared:none'), undefined);
});

t.test('lookupLower works without a memory tier', async (t) => {
  const { stack, redis, clock } = setup({ memory: false });
  const entry = testEntry(clock.now);
  await redis.set(entry);
  t.same(await stack.lookupLower(entry.key), { entry, tier: 'redis' });
});

t.test('delete removes the key from every tier', async (t) => {
  const { stack, redis, postgres, clock } = setup();
  const entry = testEntry(clock.now);
  stack.store(entry);
  await new Promise((resolve) => setImmediate(resolve));
  await stack.delete(entry.key);
  t.equal(stack.peekMemory(entry.key), undefined);
  t.notOk(redis.map.has(entry.key));
  t.notOk(postgres.map.has(entry.key));
});

t.test('stats reports every tier by name', async (t) => {
  const { stack, clock } = setup();
  stack.store(testEntry(clock.now));
  await new Promise((resolve) => setImmediate(resolve));
  const stats = await stack.stats();
  t.same(Object.keys(stats), ['memory', 'redis', 'postgres']);
  t.equal(stats['memory']?.entries, 1);
  t.equal(stats['redis']?.entries, 1);
});
