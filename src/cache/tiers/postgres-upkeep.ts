import { deleteInBatches } from '../../db/batches.js';
import type { SqlDatabase } from '../../db/sql.js';
import { timestampFromMs } from '../../db/sql-time.js';

export interface PostgresUpkeepOptions {
  /** Owned by the caller, who closes it after the upkeep. */
  readonly db: SqlDatabase;
  readonly now?: () => number;
  /** How often counted hits are written, in one statement; 0 = only on flushHits()/close(). */
  readonly hitFlushIntervalMs: number;
  /** How often rows past staleUntil are deleted; 0 = only on sweep(). */
  readonly sweepIntervalMs: number;
  /** Rows per DELETE statement of the sweeper. */
  readonly sweepBatchSize: number;
  readonly log?: (obj: Record<string, unknown>, msg: string) => void;
}

/** Distinct keys with pending hits that trigger an early flush, bounding the map between intervals. */
const MAX_PENDING_HIT_KEYS = 10_000;

const FLUSH_HITS = `
  UPDATE api_cache SET hit_count = hit_count + d.n
  FROM unnest($1::text[], $2::bigint[]) AS d(k, n)
  WHERE cache_key = d.k`;

// SKIP LOCKED lets several instances sweep at once without waiting on each other's batches.
const SWEEP_BATCH = `
  DELETE FROM api_cache WHERE id IN (
    SELECT id FROM api_cache WHERE stale_until <= ${timestampFromMs('$1')}
    ORDER BY stale_until LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/**
 * The `api_cache` table's upkeep beside the Postgres tier: hits are counted in memory and
 * written in one batched UPDATE (`hit_count` is advisory, not transactional), and a sweeper
 * deletes rows past staleUntil in bounded batches.
 */
export class PostgresUpkeep {
  readonly #db: SqlDatabase;
  readonly #now: () => number;
  readonly #sweepBatchSize: number;
  readonly #log: (obj: Record<string, unknown>, msg: string) => void;
  readonly #timers: NodeJS.Timeout[] = [];
  #hits = new Map<string, number>();
  #flushing: Promise<unknown> = Promise.resolve();
  #sweeping: Promise<number> | null = null;
  #earlyFlushQueued = false;
  #closed = false;

  constructor(options: PostgresUpkeepOptions) {
    if (!Number.isInteger(options.sweepBatchSize) || options.sweepBatchSize < 1) {
      throw new TypeError(`PostgresUpkeep: sweepBatchSize must be a positive integer, got ${options.sweepBatchSize}`);
    }
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
    this.#sweepBatchSize = options.sweepBatchSize;
    this.#log = options.log ?? (() => {});
    if (options.hitFlushIntervalMs > 0) this.#every(options.hitFlushIntervalMs, () => this.#flushInBackground());
    if (options.sweepIntervalMs > 0) {
      this.#every(options.sweepIntervalMs, () => {
        this.sweep().catch((err: unknown) => this.#log({ err }, 'postgres tier: sweep failed'));
      });
    }
  }

  /** Counts a hit on `key`; written with the next flush. */
  countHit(key: string): void {
    if (this.#closed) return;
    this.#hits.set(key, (this.#hits.get(key) ?? 0) + 1);
    if (this.#hits.size >= MAX_PENDING_HIT_KEYS && !this.#earlyFlushQueued) {
      this.#earlyFlushQueued = true;
      this.#flushInBackground();
    }
  }

  /** Writes the counted hits in one UPDATE; resolves the number of keys written. */
  flushHits(): Promise<number> {
    const run = this.#flushing.then(() => this.#flush());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** Deletes rows past staleUntil in batches of sweepBatchSize (a bounded number per run); resolves the rows deleted. */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  /** Stops the timers and writes pending hits; the database stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#sweeping?.catch(() => undefined);
    await this.flushHits().catch((err: unknown) => this.#log({ err }, 'postgres tier: hit counts lost at close'));
  }

  async #flush(): Promise<number> {
    this.#earlyFlushQueued = false;
    if (this.#hits.size === 0) return 0;
    const pending = this.#hits;
    this.#hits = new Map();
    // Sorted, so instances flushing overlapping keys lock rows in the same order (no deadlock).
    const keys = [...pending.keys()].sort();
    try {
      await this.#db.query(FLUSH_HITS, [keys, keys.map((k) => pending.get(k)!)]);
    } catch (err) {
      if (this.#hits.size < MAX_PENDING_HIT_KEYS) {
        for (const [key, n] of pending) this.#hits.set(key, (this.#hits.get(key) ?? 0) + n);
      }
      throw err;
    }
    return keys.length;
  }

  async #sweep(): Promise<number> {
    const deleted = await deleteInBatches(this.#db, SWEEP_BATCH, this.#now(), this.#sweepBatchSize);
    if (deleted > 0) this.#log({ deleted }, 'postgres tier: swept expired entries');
    return deleted;
  }

  #flushInBackground(): void {
    this.flushHits().catch((err: unknown) => this.#log({ err }, 'postgres tier: hit flush failed'));
  }

  #every(intervalMs: number, fn: () => void): void {
    this.#timers.push(setInterval(fn, intervalMs).unref());
  }
}
