import type { AuditConfig } from '../config/types.js';
import type { SqlDatabase } from '../db/sql.js';
import type { AuditLogger } from './log.js';

export interface AuditWriterOptions {
  readonly db: SqlDatabase | null;
  readonly config: AuditConfig;
  readonly log: AuditLogger;
  /** The clock partition upkeep judges months and retention by (default Date.now). */
  readonly now?: () => number;
  /** False while the database cannot take writes yet (migrations pending): batches are spooled meanwhile. */
  readonly dbReady?: () => boolean;
  /** A write slower than this is given up on and its batch spooled (default 2 s). */
  readonly insertTimeoutMs?: number;
  /** How often the replayer looks at the spool (default 1 s). */
  readonly replayIntervalMs?: number;
  /** Rows per INSERT when replaying (default 2000). */
  readonly replayBatchSize?: number;
  /** Rows one replay turn inserts at most (whole segments; default 20 000). */
  readonly replayRowsPerTick?: number;
  /** Partition upkeep (ensurePartitions, dropExpiredPartitions) interval; 0 = never (default 6 h). */
  readonly maintenanceIntervalMs?: number;
  /** Spool segment size (default 8 MiB). */
  readonly segmentBytes?: number;
  /** How long a write given up on but still running keeps the database counted as stuck (default 30 s). */
  readonly stuckMs?: number;
}

/** The writer's timing and size options, each default filled in. */
export function writerTunables(options: AuditWriterOptions) {
  return {
    insertTimeoutMs: options.insertTimeoutMs ?? 2_000,
    replayIntervalMs: options.replayIntervalMs ?? 1_000,
    replayBatchSize: options.replayBatchSize ?? 2_000,
    replayRowsPerTick: options.replayRowsPerTick ?? 20_000,
    maintenanceIntervalMs: options.maintenanceIntervalMs ?? 6 * 3_600_000,
    stuckMs: options.stuckMs ?? 30_000,
  };
}

export interface AuditWriterStats {
  /** Events in memory, waiting for a flush. */
  buffered: number;
  spoolPendingRows: number;
  spoolSegments: number;
  /** Events written by flushes. */
  written: number;
  /** Events appended to the spool. */
  spooled: number;
  /** Spooled events inserted by the replayer. */
  replayed: number;
  /** Events lost: memory full while the spool failed, recorded after close, or unwritten at close. */
  dropped: number;
  /** Events Postgres refused as invalid, kept in the spool's rejected.ndjson. */
  rejected: number;
  /** Spool lines that were not events (crash-truncated). */
  skippedLines: number;
  spoolFailing: boolean;
  lastError: string | null;
}

export type AuditHealth = 'ok' | 'spooling' | 'failing';
