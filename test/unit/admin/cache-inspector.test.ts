import t from 'tap';
import { CacheInspector, type InspectableTier, type InspectedCache } from '../../../src/admin/cache-inspector.js';
import { TierUnavailable } from '../../../src/cache/guarded-tier.js';
import type { TierName } from '../../../src/cache/store.js';
import { MemoryTier } from '../../../src/cache/tiers/memory.js';
import { SidecacheError } from '../../../src/errors.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';

const now = () => CONTRACT_START;

/** A shared tier backed by a MemoryTier, that can be made unreachable. */
function fakeTier(name: TierName): InspectableTier & { store: MemoryTier; down: boolean } {
  const store = new MemoryTier({ maxBytes: 1 << 24, maxEntries: 1000 }, now);
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    if (tier.down) throw new TierUnavailable(name, 'connection refused');
    return run();
  };
  const tier = {
    name,
    store,
    down: false,
    listEntries: (options: Parameters<MemoryTier['listEntries']>[0]) => guard(() => store.listEntries(options)),
    describeEntry: (key: string) => guard(() => store.describeEntry(key)),
    hasEntries: (keys: readonly string[]) => guard(() => store.hasEntries(keys)),
    readEntry: (key: string) => guard(() => store.get(key)),
  };
  return tier;
}

function cache(options: { memory?: boolean; redis?: boolean; postgres?: boolean; invalidated?: Set<string> } = {}) {
  const memory = options.memory === false ? null : new MemoryTier({ maxBytes: 1 << 24, maxEntries: 1000 }, now);
  const redis = options.redis === false ? null : fakeTier('redis');
  const postgres = options.postgres === false ? null : fakeTier('postgres');
  const invalidated = options.invalidated ?? new Set<string>();
  const inspected: InspectedCache = { memory, redis, postgres, stack: { isCurrentEntry: (entry) => !invalidated.has(entry.key) } };
  return { inspector: new CacheInspector(inspected, now), memory, redis, postgres };
}

async function refusal(promise: Promise<unknown>): Promise<SidecacheError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SidecacheError)) throw new Error(`expected a SidecacheError, got ${String(err)}`);
  return err;
}

t.test('the listing source: Postgres, else Redis, else memory', async (t) => {
  t.equal(cache().inspector.source, 'postgres');
  t.equal(cache({ postgres: false }).inspector.source, 'redis');
  t.equal(cache({ postgres: false, redis: false }).inspector.source, 'memory');
  const none = cache({ postgres: false, redis: false, memory: false }).inspector;
  t.equal((await refusal(none.list({ limit: 5 }))).code, 'cache_unavailable');
});

t.test('the source tier unreachable: 503 cache_unavailable naming it', async (t) => {
  const { inspector, postgres } = cache();
  postgres!.down = true;
  const err = await refusal(inspector.list({ limit: 5 }));
  t.equal(err.code, 'cache_unavailable');
  t.equal(err.status, 503);
  t.match(err.message, /postgres tier is unavailable/);
});

t.test('another tier unreachable: its presence is "unavailable", the listing still answers', async (t) => {
  const { inspector, memory, redis, postgres } = cache();
  const entry = testEntry(CONTRACT_START, { key: 'api:shared:one' });
  await postgres!.store.set(entry);
  memory!.put(entry);
  redis!.down = true;
  const { items, source } = await inspector.list({ limit: 5 });
  t.equal(source, 'postgres');
  t.same(items[0]!.tiers, { memory: 'present', redis: 'unavailable', postgres: 'present' });
});

t.test('describe: absent everywhere is undefined; absent where reachable but a tier down is 503', async (t) => {
  const { inspector, redis, postgres } = cache();
  t.equal(await inspector.describe('api:shared:none', { body: false }), undefined);
  redis!.down = true;
  const err = await refusal(inspector.describe('api:shared:none', { body: false }));
  t.equal(err.code, 'cache_unavailable');
  t.match(err.message, /redis could not be asked/);

  const entry = testEntry(CONTRACT_START, { key: 'api:shared:pg', headers: { 'content-encoding': 'gzip' }, body: Buffer.from('plain but encoded') });
  await postgres!.store.set(entry);
  const detail = await inspector.describe(entry.key, { body: true });
  t.same(detail?.tiers, { memory: 'absent', redis: 'unavailable', postgres: 'present' });
  t.equal(detail?.source, 'postgres');
  t.same(detail?.body, { encoding: 'base64', data: entry.body.toString('base64') }, 'content-encoded bodies are base64 even when they decode');
});

t.test('invalidated entries are flagged, not hidden', async (t) => {
  const { inspector, postgres } = cache({ invalidated: new Set(['api:shared:old']) });
  await postgres!.store.set(testEntry(CONTRACT_START, { key: 'api:shared:old' }));
  await postgres!.store.set(testEntry(CONTRACT_START, { key: 'api:shared:new' }));
  const { items } = await inspector.list({ limit: 5 });
  t.same(Object.fromEntries(items.map((i) => [i.key, i.invalidated])), { 'api:shared:old': true, 'api:shared:new': false });
  t.equal((await inspector.describe('api:shared:old', { body: false }))?.invalidated, true);
});

t.test('cursors: resume the same source only', async (t) => {
  const { inspector, postgres } = cache();
  for (let i = 0; i < 3; i++) await postgres!.store.set(testEntry(CONTRACT_START, { key: `api:shared:${i}`, path: `/p/${i}` }));
  const first = await inspector.list({ limit: 2 });
  t.match(first.nextCursor, /^postgres\./);
  const second = await inspector.list({ limit: 2, cursor: first.nextCursor! });
  t.same(second.items.map((i) => i.key), ['api:shared:2']);
  t.equal(second.nextCursor, null);
  for (const cursor of ['postgres.', 'postgres', `redis.${first.nextCursor!.slice(9)}`, 'postgres.bm90LWpzb24']) {
    const err = await refusal(inspector.list({ limit: 2, cursor }));
    t.equal(err.code, 'invalid_request', cursor);
    t.match(err.message, /^cursor: /);
  }
});

t.test('ages and times', async (t) => {
  const { inspector, postgres } = cache();
  await postgres!.store.set(testEntry(CONTRACT_START - 30_500, { key: 'api:shared:t', expiresAt: CONTRACT_START + 10_900, staleUntil: CONTRACT_START + 70_000 }));
  const [item] = (await inspector.list({ limit: 1 })).items;
  t.match(item, { ageSeconds: 30, ttlSeconds: 10, staleSeconds: 70, fresh: true, storedAt: new Date(CONTRACT_START - 30_500).toISOString() });
});
