import type { AuditConfig } from '../config/types.js';
import type { SqlDatabase } from '../db/sql.js';
import { describe, type AuditLogger } from './log.js';
import { dropExpiredPartitions, ensurePartitions } from './partitions.js';

/**
 * Partition upkeep on a timer: creates the monthly partitions ahead (partitions.ts) and drops
 * those past retention, now and every `intervalMs`; after a failure (or while migrations are
 * pending) it tries again within a minute.
 */

const RETRY_MS = 60_000;

export interface PartitionUpkeepOptions {
  readonly db: SqlDatabase;
  readonly config: Pick<AuditConfig, 'partitionsAheadMonths' | 'retentionDays'>;
  readonly log: AuditLogger;
  /** The clock months and retention are judged by. */
  readonly now: () => number;
  readonly dbReady: () => boolean;
  readonly intervalMs: number;
}

export class PartitionUpkeep {
  readonly #o: PartitionUpkeepOptions;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: PartitionUpkeepOptions) {
    this.#o = options;
  }

  /** Runs upkeep now, then on the interval. */
  start(): void {
    if (this.#o.intervalMs > 0) this.#run();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #run(): void {
    if (this.#stopped) return;
    const { db, config, log, now, dbReady, intervalMs } = this.#o;
    const once = async (): Promise<boolean> => {
      if (!dbReady()) return false;
      const at = now();
      const ensured = await ensurePartitions(db, at, config.partitionsAheadMonths);
      if (ensured.created.length > 0) log.info(ensured, 'audit: partitions created');
      const dropped = await dropExpiredPartitions(db, at, config.retentionDays);
      if (dropped.length > 0) log.info({ dropped, retentionDays: config.retentionDays }, 'audit: expired partitions dropped');
      return true;
    };
    void once()
      .catch((err: unknown) => {
        if (!this.#stopped) log.warn({ err: describe(err) }, 'audit: partition upkeep failed; retrying');
        return false;
      })
      .then((ok) => {
        if (this.#stopped) return;
        this.#timer = setTimeout(() => this.#run(), ok ? intervalMs : Math.min(RETRY_MS, intervalMs)).unref();
      });
  }
}
