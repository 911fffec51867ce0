import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../cache/entry.js';
import type { RefreshAheadConfig } from '../config/types.js';
import { takeTokens, type BucketState } from '../resilience/token-bucket.js';
import type { FillPlan } from './cache-fill.js';

interface HotEntry {
  entry: CacheEntry;
  lastHitAt: number;
  plan: FillPlan;
}

/**
 * Refresh-ahead for rules that opt in: an entry hit within its last ttl is refreshed shortly
 * before it expires (in the last `lead` fraction of its ttl), so the next read finds it fresh
 * instead of waiting for the upstream. Refreshes go through the normal fill (conditional, single
 * flight, fill lease) and spend a global budget of upstream calls per minute; an entry the budget
 * cannot cover simply expires as usual.
 */
export class RefreshAhead {
  readonly #hot: LRUCache<string, HotEntry>;
  readonly #config: RefreshAheadConfig;
  readonly #now: () => number;
  readonly #refresh: (plan: FillPlan, stored: CacheEntry) => void;
  readonly #paused: (upstream: string) => boolean;
  readonly #timer: NodeJS.Timeout | null;
  #budget: BucketState | undefined;
  readonly stats = { refreshed: 0, skippedBudget: 0 };

  constructor(options: {
    config: RefreshAheadConfig;
    now: () => number;
    refresh: (plan: FillPlan, stored: CacheEntry) => void;
    /** How often hot entries are checked; 0 = never by timer (tests call `tick`). */
    intervalMs: number;
    /** Upstreams whose entries are not refreshed for now (quota-saver mode); they stay tracked. */
    paused?: (upstream: string) => boolean;
  }) {
    this.#paused = options.paused ?? (() => false);
    this.#config = options.config;
    this.#now = options.now;
    this.#refresh = options.refresh;
    this.#hot = new LRUCache({ max: options.config.maxTracked });
    this.#timer = options.intervalMs > 0 && options.config.budgetPerMinute > 0 ? setInterval(() => this.tick(), options.intervalMs) : null;
    this.#timer?.unref();
  }

  /** Notes a hit on a fresh entry; the plan is built only when the entry is not yet tracked. */
  noteHit(entry: CacheEntry, plan: () => FillPlan): void {
    if (this.#config.budgetPerMinute === 0) return;
    const tracked = this.#hot.get(entry.key);
    if (tracked !== undefined && tracked.entry === entry) {
      tracked.lastHitAt = this.#now();
      return;
    }
    // The plan (method, headers, target) is kept rather than the request, which may be large.
    this.#hot.set(entry.key, { entry, lastHitAt: this.#now(), plan: plan() });
  }

  /** Refreshes every hot entry inside its lead window, within the budget; returns how many. */
  tick(): number {
    const now = this.#now();
    let started = 0;
    for (const [key, hot] of this.#hot.entries()) {
      const { entry } = hot;
      const ttl = entry.expiresAt - entry.storedAt;
      const remaining = entry.expiresAt - now;
      if (remaining <= 0 || now - hot.lastHitAt > ttl) {
        // Expired or gone cold: stale-while-revalidate or the next miss takes over.
        this.#hot.delete(key);
        continue;
      }
      if (remaining > ttl * this.#config.lead || this.#paused(hot.plan.target.upstream.name)) continue;
      const { state, decision } = takeTokens(this.#budget, 1, now, {
        capacity: this.#config.budgetPerMinute,
        refillPerSecond: this.#config.budgetPerMinute / 60,
      });
      this.#budget = state;
      if (!decision.allowed) {
        this.stats.skippedBudget += 1;
        break;
      }
      this.#hot.delete(key);
      this.#refresh(hot.plan, entry);
      this.stats.refreshed += 1;
      started += 1;
    }
    return started;
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#hot.clear();
  }
}
