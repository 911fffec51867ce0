import t from 'tap';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { GuardedTier, TierUnavailable } from '../../../src/cache/guarded-tier.js';
import { InvalidListPosition, entryMeta, type EntryDescription, type ListableTier, type ListOptions, type ListPage } from '../../../src/cache/store.js';
import { WriteQueue } from '../../../src/cache/write-queue.js';
import { ChaosTier } from '../../helpers/chaos-tier.js';
import { fakeClock } from '../../helpers/clock.js';
import { captureLog } from '../../helpers/log.js';
import { testEntry } from '../../helpers/tier-contract.js';

/** ChaosTier that can also list; listing calls fail or hang with the same `mode`. */
class ListableChaos extends ChaosTier implements ListableTier {
  async listEntries(options: ListOptions): Promise<ListPage> {
    await this.#admin();
    if (options.after === 'bad') throw new InvalidListPosition('bad');
    return { entries: [...this.entries.values()].slice(0, options.limit).map(entryMeta), next: null };
  }

  async describeEntry(key: string): Promise<EntryDescription | undefined> {
    await this.#admin();
    const entry = this.entries.get(key);
    return entry === undefined ? undefined : { ...entryMeta(entry), headerNames: Object.keys(entry.headers) };
  }

  async hasEntries(keys: readonly string[]): Promise<Set<string>> {
    await this.#admin();
    return new Set(keys.filter((key) => this.entries.has(key)));
  }

  async #admin(): Promise<void> {
    this.calls += 1;
    if (this.mode === 'fail') throw new Error('chaos: connection refused');
    if (this.mode === 'hang') await new Promise(() => undefined);
  }
}

function guarded(options: { ready?: () => boolean; adminTimeoutMs?: number } = {}) {
  const clock = fakeClock();
  const inner = new ListableChaos();
  const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000 }, clock.now);
  const log = captureLog();
  const tier = new GuardedTier(inner, {
    readTimeoutMs: 30,
    breaker,
    queue: new WriteQueue({ capacity: 10, concurrency: 1 }),
    log,
    ...(options.ready === undefined ? {} : { isReady: options.ready }),
    ...(options.adminTimeoutMs === undefined ? {} : { adminTimeoutMs: options.adminTimeoutMs }),
    now: clock.now,
  });
  return { tier, inner, breaker, clock, warnings: log.lines };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

t.test('admin calls go through to the inner tier and are not counted as reads', async (t) => {
  const { tier, inner, clock } = guarded();
  const entry = testEntry(clock.now(), { key: 'k' });
  inner.entries.set('k', entry);
  t.same((await tier.listEntries({ limit: 10 })).entries.map((e) => e.key), ['k']);
  t.equal((await tier.describeEntry('k'))?.key, 'k');
  t.same([...(await tier.hasEntries(['k', 'x']))], ['k']);
  t.same(await tier.readEntry('k'), entry);
  t.same({ hits: tier.counters.hits, misses: tier.counters.misses }, { hits: 0, misses: 0 });
});

t.test('failures throw TierUnavailable, are logged, and never open the breaker', async (t) => {
  const { tier, inner, breaker, warnings } = guarded();
  inner.mode = 'fail';
  for (let i = 0; i < 5; i++) {
    const err = await refusal(tier.listEntries({ limit: 1 }));
    t.ok(err instanceof TierUnavailable, 'TierUnavailable');
    t.match((err as Error).message, /redis tier is unavailable: chaos/);
  }
  t.equal(breaker.state, 'closed', 'the breaker guarding the proxy reads stays closed');
  t.equal(tier.health(), 'up');
  t.equal(warnings.length, 5);
});

t.test('a hanging admin call is bounded by adminTimeoutMs', async (t) => {
  const { tier, inner } = guarded({ adminTimeoutMs: 40 });
  inner.mode = 'hang';
  const started = Date.now();
  t.ok((await refusal(tier.describeEntry('k'))) instanceof TierUnavailable);
  t.ok(Date.now() - started < 1000);
});

t.test('an open breaker or a tier not ready: unavailable without touching the tier', async (t) => {
  const { tier, inner, breaker } = guarded();
  breaker.trip();
  const calls = inner.calls;
  const err = await refusal(tier.hasEntries(['k']));
  t.ok(err instanceof TierUnavailable);
  t.match((err as Error).message, /circuit breaker open/);
  t.equal(inner.calls, calls);

  const notReady = guarded({ ready: () => false });
  t.match(((await refusal(notReady.tier.listEntries({ limit: 1 }))) as Error).message, /not ready/);
});

t.test('a bad listing position stays InvalidListPosition (a client error, not an outage)', async (t) => {
  const { tier } = guarded();
  t.ok((await refusal(tier.listEntries({ limit: 1, after: 'bad' }))) instanceof InvalidListPosition);
});

t.test('an inner tier that cannot list is unavailable for listing', async (t) => {
  const clock = fakeClock();
  const tier = new GuardedTier(new ChaosTier(), {
    readTimeoutMs: 30,
    breaker: new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000 }, clock.now),
    queue: new WriteQueue({ capacity: 10, concurrency: 1 }),
    log: captureLog(),
  });
  t.match(((await refusal(tier.listEntries({ limit: 1 }))) as Error).message, /cannot list/);
});
