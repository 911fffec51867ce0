import { LogThrottle } from '../log-throttle.js';
import { withTimeout } from '../resilience/timeout.js';
import type { CacheEntry } from './entry.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { InvalidListPosition, type CacheTier, type EntryDescription, type ListableTier, type ListOptions, type ListPage, type TierName, type TierStats } from './store.js';
import type { WriteQueue, WriteQueueStats } from './write-queue.js';

export type TierHealth = 'up' | 'degraded' | 'down';

export interface TierCounters {
  hits: number;
  misses: number;
  errors: number;
  timeouts: number;
  /** Look-ups not attempted because the breaker was open or the tier not ready. */
  skipped: number;
  /** Writes not attempted for the same reason. */
  skippedWrites: number;
}

export interface GuardedTierOptions {
  readonly readTimeoutMs: number;
  /**
   * Bound on a background write (encoding included). Longer than reads: nobody waits on a write,
   * and a large entry legitimately takes longer than a read timeout to compress and send.
   */
  readonly writeTimeoutMs?: number;
  readonly breaker: CircuitBreaker;
  readonly queue: WriteQueue;
  readonly log: { warn(obj: object, msg: string): void };
  /** False until the tier can serve (e.g. migrations not applied yet); default always ready. */
  readonly isReady?: () => boolean;
  /** Bound on an admin listing or inspection call (default 5 s). */
  readonly adminTimeoutMs?: number;
  readonly now?: () => number;
}

class TierTimeout extends Error {
  constructor(tier: TierName, operation: string, ms: number) {
    super(`${tier} ${operation} took longer than ${ms} ms`);
  }
}

/** An admin call could not reach the tier (breaker open, not ready, error or timeout). */
export class TierUnavailable extends Error {
  readonly tier: TierName;

  constructor(tier: TierName, reason: string, options?: { cause?: unknown }) {
    super(`the ${tier} tier is unavailable: ${reason}`, options);
    this.name = 'TierUnavailable';
    this.tier = tier;
  }
}

const DEFAULT_ADMIN_TIMEOUT_MS = 5_000;

/** How long an error keeps a closed breaker's tier reported as degraded. */
const DEGRADED_WINDOW_MS = 30_000;
const DEFAULT_WRITE_TIMEOUT_MS = 2_000;

/**
 * The failure policy of a shared tier, in one place: every read is bounded by a timeout and a
 * circuit breaker and fails open (a miss), every write goes through a bounded background queue,
 * and errors are logged at most once per 10 s per tier. A dead Redis or Postgres therefore
 * costs a request at most one read timeout, and nothing while its breaker is open.
 */
export class GuardedTier implements CacheTier, ListableTier {
  readonly name: TierName;
  readonly inner: CacheTier;
  readonly counters: TierCounters = { hits: 0, misses: 0, errors: 0, timeouts: 0, skipped: 0, skippedWrites: 0 };
  readonly #options: GuardedTierOptions;
  readonly #now: () => number;
  #lastErrorAt = Number.NEGATIVE_INFINITY;
  readonly #logThrottle: LogThrottle;

  constructor(inner: CacheTier, options: GuardedTierOptions) {
    this.name = inner.name;
    this.inner = inner;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#logThrottle = new LogThrottle(undefined, this.#now);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    if (!this.#usable()) {
      this.counters.skipped += 1;
      return undefined;
    }
    const entry = await this.#call('get', () => this.inner.get(key), undefined);
    if (entry !== undefined) this.counters.hits += 1;
    else this.counters.misses += 1;
    return entry;
  }

  /** Queues the write and resolves once it ran (true) or was dropped or failed (false). */
  async set(entry: CacheEntry): Promise<void> {
    await this.write(entry);
  }

  write(entry: CacheEntry): Promise<boolean> {
    if (!this.#usable(false)) {
      this.counters.skippedWrites += 1;
      return Promise.resolve(false);
    }
    return this.#options.queue.push(async () => {
      const ok = await this.#call('set', () => this.inner.set(entry).then(() => true), false, this.#writeTimeoutFactor());
      if (!ok) throw new Error('write failed');
    });
  }

  async delete(key: string): Promise<boolean> {
    if (!this.#usable(false)) return false;
    return this.#call('delete', () => this.inner.delete(key), false);
  }

  async clear(): Promise<void> {
    if (this.#usable(false)) await this.#call('clear', () => this.inner.clear(), undefined, 10);
  }

  async stats(): Promise<TierStats> {
    if (!this.#usable(false)) return { entries: 0, bytes: 0 };
    return this.#call('stats', () => this.inner.stats(), { entries: 0, bytes: 0 }, 20);
  }

  async close(): Promise<void> {
    await this.#options.queue.drain(2_000);
    await this.inner.close();
  }

  health(): TierHealth {
    if (!(this.#options.isReady?.() ?? true)) return 'down';
    const state = this.#options.breaker.state;
    if (state === 'open') return 'down';
    if (state === 'half-open' || this.#now() - this.#lastErrorAt < DEGRADED_WINDOW_MS) return 'degraded';
    return 'up';
  }

  get breakerState(): string {
    return this.#options.breaker.state;
  }

  queueStats(): WriteQueueStats {
    return this.#options.queue.stats();
  }

  /** The inner tier's listing; throws TierUnavailable (see #admin). */
  listEntries(options: ListOptions): Promise<ListPage> {
    return this.#admin('list', (tier) => tier.listEntries(options));
  }

  describeEntry(key: string): Promise<EntryDescription | undefined> {
    return this.#admin('describe', (tier) => tier.describeEntry(key));
  }

  hasEntries(keys: readonly string[]): Promise<Set<string>> {
    return this.#admin('has', (tier) => tier.hasEntries(keys));
  }

  /** The whole entry for admin inspection: not counted as a hit or miss, never feeds the breaker. */
  readEntry(key: string): Promise<CacheEntry | undefined> {
    return this.#admin('read', (tier) => tier.get(key));
  }

  /**
   * Admin calls respect the breaker and readiness but never feed them: a heavy listing that
   * times out must not take the tier away from the proxy's reads. Failures throw TierUnavailable
   * (a bad listing position stays an InvalidListPosition).
   */
  async #admin<T>(operation: string, run: (tier: CacheTier & ListableTier) => Promise<T>): Promise<T> {
    const inner = this.inner as CacheTier & Partial<ListableTier>;
    if (inner.listEntries === undefined) throw new TierUnavailable(this.name, 'it cannot list entries');
    if (!(this.#options.isReady?.() ?? true)) throw new TierUnavailable(this.name, 'not ready');
    if (this.#options.breaker.state === 'open') throw new TierUnavailable(this.name, 'circuit breaker open');
    const ms = this.#options.adminTimeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    try {
      return await withTimeout(run(inner as CacheTier & ListableTier), ms, () => new TierTimeout(this.name, operation, ms));
    } catch (err) {
      if (err instanceof InvalidListPosition) throw err;
      this.#options.log.warn({ tier: this.name, operation, err: err instanceof Error ? err.message : String(err) }, `${this.name} tier admin ${operation} failed`);
      throw new TierUnavailable(this.name, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  #writeTimeoutFactor(): number {
    const writeTimeoutMs = this.#options.writeTimeoutMs ?? Math.max(DEFAULT_WRITE_TIMEOUT_MS, this.#options.readTimeoutMs);
    return writeTimeoutMs / this.#options.readTimeoutMs;
  }

  /** Reads are gated by the breaker (one probe when half-open); other calls only skip an open breaker. */
  #usable(gateOnBreaker = true): boolean {
    if (!(this.#options.isReady?.() ?? true)) return false;
    return gateOnBreaker ? this.#options.breaker.allow() : this.#options.breaker.state !== 'open';
  }

  async #call<T>(operation: string, run: () => Promise<T>, fallback: T, timeoutFactor = 1): Promise<T> {
    const ms = this.#options.readTimeoutMs * timeoutFactor;
    try {
      const result = await withTimeout(run(), ms, () => new TierTimeout(this.name, operation, ms));
      this.#options.breaker.success();
      return result;
    } catch (err) {
      this.#options.breaker.failure();
      this.counters.errors += 1;
      if (err instanceof TierTimeout) this.counters.timeouts += 1;
      this.#logFailure(operation, err);
      return fallback;
    }
  }

  #logFailure(operation: string, err: unknown): void {
    const now = this.#now();
    this.#lastErrorAt = now;
    const suppressed = this.#logThrottle.admit();
    if (suppressed === null) return;
    this.#options.log.warn(
      { tier: this.name, operation, err: err instanceof Error ? err.message : String(err), suppressed, breaker: this.#options.breaker.state },
      `${this.name} tier ${operation} failed; serving from the remaining tiers`,
    );
  }
}
