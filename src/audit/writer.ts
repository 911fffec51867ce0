import type { AuditConfig } from '../config/types.js';
import type { SqlClient, SqlDatabase } from '../db/sql.js';
import { auditEvent, type AuditEvent } from './events.js';
import { dropExpiredPartitions, ensurePartitions } from './partitions.js';
import { Spool } from './spool.js';

/**
 * Writes audit events to `audit_logs` without ever making a request wait.
 *
 * `record()` pushes onto an in-memory buffer. A flush — every `flushIntervalMs`, or at once when
 * `batchSize` events are waiting — writes up to `batchSize` events with one multi-row INSERT
 * (one flush at a time). An insert that fails, or takes longer than `insertTimeoutMs` (or is
 * still running when the buffer reaches `bufferMax`), sends its batch to the spool (spool.ts:
 * fsynced NDJSON segments). While the spool holds anything, new batches are appended to it too,
 * so events reach the table in the order they were recorded; a replayer (every
 * `replayIntervalMs`, at most `replayRowsPerTick` rows per turn) inserts the segments oldest
 * first and deletes each once it is in. Every insert is `ON CONFLICT (request_id, ts) DO NOTHING`,
 * so an insert that timed out but landed anyway, or a segment replayed twice after a crash,
 * never writes a row twice.
 *
 * When the spool cannot be written (full disk, permissions), the writer says so loudly (error
 * log, rate-limited; `health()` 'failing'; `stats().spoolFailing`), still inserts directly when
 * Postgres answers (out of order rather than lost), and otherwise keeps events in memory up to
 * `bufferMax`, dropping and counting any beyond. sidecache keeps serving then, unless
 * `failClosed` is set: `accepting()` turns false and the app refuses requests.
 *
 * Loss bound for kill -9: the events not yet in a committed INSERT or an fsynced spool append —
 * those recorded since the last flush (at most `flushIntervalMs` ago) plus the batch in flight
 * (normally a few ms of inserting; at most `insertTimeoutMs` when Postgres is slow), never more
 * than `bufferMax`.
 *
 * With `db: null` every batch is spooled, to be replayed by a later run that has a database.
 * The writer also keeps the monthly partitions (partitions.ts) every `maintenanceIntervalMs`.
 */

export interface AuditLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AuditWriterOptions {
  readonly db: SqlDatabase | null;
  readonly config: AuditConfig;
  readonly log: AuditLogger;
  /** The clock partition upkeep judges months and retention by (default Date.now). */
  readonly now?: () => number;
  /** False while the database cannot take writes yet (migrations pending): batches are spooled meanwhile. */
  readonly dbReady?: () => boolean;
  /** An insert slower than this is given up on and its batch spooled (default 2 s). */
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
  /** How long an insert given up on but still running keeps the database counted as stuck (default 30 s). */
  readonly stuckMs?: number;
}

export interface AuditWriterStats {
  /** Events in memory, waiting for a flush. */
  buffered: number;
  spoolPendingRows: number;
  spoolSegments: number;
  /** Events inserted by flushes. */
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

const DEFAULTS = {
  insertTimeoutMs: 2_000,
  replayIntervalMs: 1_000,
  replayBatchSize: 2_000,
  replayRowsPerTick: 20_000,
  maintenanceIntervalMs: 6 * 3_600_000,
  stuckMs: 30_000,
};
/** After a flush that could neither insert nor spool, the next try waits this long. */
const RETRY_MS = 1_000;
const MAINTENANCE_RETRY_MS = 60_000;
const LOUD_EVERY_MS = 10_000;
/** A spool append takes at most this many events (one write + fsync). */
const SPOOL_CHUNK = 10_000;

export class AuditWriter {
  readonly #db: SqlDatabase | null;
  readonly #config: AuditConfig;
  readonly #log: AuditLogger;
  readonly #now: () => number;
  readonly #dbReady: () => boolean;
  readonly #spool: Spool;
  readonly #insertTimeoutMs: number;
  readonly #replayIntervalMs: number;
  readonly #replayBatchSize: number;
  readonly #replayRowsPerTick: number;
  readonly #maintenanceIntervalMs: number;
  readonly #stuckMs: number;

  #buffer: AuditEvent[] = [];
  #flushing: Promise<void> | null = null;
  #flushAgain = false;
  /** Set by flush(): the loop writes everything buffered, not just full batches. */
  #drainAll = false;
  #flushTimer: NodeJS.Timeout | null = null;
  #flushDueAt = Infinity;
  /** After a flush that could neither insert nor spool, flushes wait until then. */
  #retryAt = 0;
  #replaying: Promise<void> | null = null;
  #replayTimer: NodeJS.Timeout | null = null;
  #maintenanceTimer: NodeJS.Timeout | null = null;
  /** Set by the replayer while it drains the last segment: flushes wait, so order is kept. */
  #holdFlushes = false;
  /** Inserts given up on that are still running: while any is (for at most stuckMs), the database counts as stuck. */
  #abandoned = 0;
  #abandonedAt = 0;
  /** Gives up the inserts being waited on (memory full, close), by kind. */
  readonly #waits = new Map<(stuck: boolean) => void, 'flush' | 'replay'>();
  #startCalled = false;
  #started = false;
  #closing = false;
  #closed: Promise<void> | null = null;
  /** While closing: inserts must be done by then, leaving time to spool what is left. */
  #insertDeadline = Infinity;
  #spoolFailing = false;
  readonly #loudAt = new Map<string, { at: number; suppressed: number }>();
  readonly #stats = { written: 0, spooled: 0, replayed: 0, dropped: 0, rejected: 0 };
  #lastError: string | null = null;

  constructor(options: AuditWriterOptions) {
    const { config } = options;
    for (const [name, value] of [['batchSize', config.batchSize], ['bufferMax', config.bufferMax]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`AuditWriter: config.${name} must be a positive integer, got ${value}`);
    }
    this.#db = options.db;
    this.#config = config;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#dbReady = options.dbReady ?? (() => true);
    this.#spool = new Spool({ dir: config.spoolDir, ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }) });
    this.#insertTimeoutMs = options.insertTimeoutMs ?? DEFAULTS.insertTimeoutMs;
    this.#replayIntervalMs = options.replayIntervalMs ?? DEFAULTS.replayIntervalMs;
    this.#replayBatchSize = options.replayBatchSize ?? DEFAULTS.replayBatchSize;
    this.#replayRowsPerTick = options.replayRowsPerTick ?? DEFAULTS.replayRowsPerTick;
    this.#maintenanceIntervalMs = options.maintenanceIntervalMs ?? DEFAULTS.maintenanceIntervalMs;
    this.#stuckMs = options.stuckMs ?? DEFAULTS.stuckMs;
  }

  /** Opens the spool (counting what an earlier process left), then starts flushing, replaying and partition upkeep. */
  async start(): Promise<void> {
    if (this.#startCalled || !this.#config.enabled) return;
    this.#startCalled = true;
    try {
      await this.#spool.open();
      const pending = this.#spool.pendingRows();
      if (pending > 0) this.#log.info({ rows: pending, dir: this.#spool.dir }, 'audit: spool left by an earlier run will be replayed');
    } catch (err) {
      this.#spoolFailed(err);
    }
    // Only now may flushes run: a flush must know whether an earlier run left rows in the spool.
    this.#started = true;
    if (this.#db === null) this.#log.warn({ dir: this.#spool.dir }, 'audit: no database; audit events are spooled until a run with one replays them');
    if (this.#replayIntervalMs > 0) this.#replayTimer = setInterval(() => this.#replay(), this.#replayIntervalMs).unref();
    if (this.#db !== null && this.#maintenanceIntervalMs > 0) this.#maintain();
    this.#replay();
    if (this.#buffer.length > 0) this.#scheduleFlush(0);
  }

  /** Takes one event for the audit trail; never throws, never waits. */
  record(event: AuditEvent): void {
    try {
      if (!this.#config.enabled) return;
      if (this.#closing) {
        this.#drop(1, 'recorded after close');
        return;
      }
      if (this.#buffer.length >= this.#config.bufferMax) {
        this.#drop(1, 'audit buffer full');
        this.#giveUpWaits(true);
        return;
      }
      const length = this.#buffer.push(auditEvent(event));
      if (length >= this.#config.bufferMax) this.#giveUpWaits(true);
      if (length < this.#config.batchSize) this.#scheduleFlush(this.#config.flushIntervalMs);
      else if (this.#flushing !== null) this.#flushAgain = true;
      else this.#scheduleFlush(0);
    } catch (err) {
      this.#stats.dropped += 1;
      this.#lastError = String(err);
    }
  }

  /** Writes what is buffered now (tests, admin); resolves when that flush is over. */
  async flush(): Promise<void> {
    this.#drainAll = true;
    try {
      this.#startFlush();
      while (this.#flushing !== null) await this.#flushing;
    } finally {
      this.#drainAll = false;
    }
  }

  stats(): AuditWriterStats {
    return {
      buffered: this.#buffer.length,
      spoolPendingRows: this.#spool.pendingRows(),
      spoolSegments: this.#spool.segments().length,
      ...this.#stats,
      skippedLines: this.#spool.skippedLines(),
      spoolFailing: this.#spoolFailing,
      lastError: this.#lastError,
    };
  }

  /** 'failing': events can be neither inserted nor spooled; 'spooling': events wait in the spool. */
  health(): AuditHealth {
    if (this.#spoolFailing) return 'failing';
    if (this.#spool.hasSegments() || !this.#dbUsable()) return 'spooling';
    return 'ok';
  }

  /** False only with `failClosed` while failing: the app should then refuse requests (503). */
  accepting(): boolean {
    return !(this.#config.failClosed && this.#spoolFailing);
  }

  /**
   * Stops the timers and writes what is buffered: inserted when the database takes it in time,
   * else spooled (fsynced). Resolves within about `timeoutMs`; what is still unwritten is counted as dropped.
   */
  close(timeoutMs = 5_000): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  // ---- flushing

  /** Arms the flush timer, unless it is already due sooner. */
  #scheduleFlush(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.#flushTimer !== null) {
      if (this.#flushDueAt <= due) return;
      clearTimeout(this.#flushTimer);
    }
    this.#flushDueAt = due;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flushDueAt = Infinity;
      this.#startFlush();
    }, delayMs).unref();
  }

  #startFlush(): void {
    if (!this.#started || this.#holdFlushes || this.#flushing !== null) {
      this.#flushAgain = true;
      return;
    }
    const wait = this.#retryAt - Date.now();
    if (wait > 0 && !this.#closing && !this.#drainAll) {
      this.#scheduleFlush(wait);
      return;
    }
    this.#flushAgain = false;
    this.#flushing = this.#flushLoop().finally(() => {
      this.#flushing = null;
      if (this.#flushAgain) this.#startFlush();
    });
  }

  async #flushLoop(): Promise<void> {
    let first = true;
    while (this.#buffer.length > 0 && (first || this.#closing || this.#drainAll || this.#buffer.length >= this.#config.batchSize)) {
      first = false;
      if (!(await this.#flushOnce())) {
        this.#retryAt = Date.now() + RETRY_MS;
        this.#flushAgain = false;
        if (!this.#closing) this.#scheduleFlush(RETRY_MS);
        return;
      }
    }
    if (this.#buffer.length > 0 && !this.#closing) this.#scheduleFlush(this.#config.flushIntervalMs);
  }

  /** Writes one batch: inserted, else spooled, else put back. False when it had to be put back. */
  async #flushOnce(): Promise<boolean> {
    const viaSpool = !this.#dbUsable() || this.#spool.hasSegments();
    const batch = this.#buffer.splice(0, viaSpool ? Math.max(this.#config.batchSize, SPOOL_CHUNK) : this.#config.batchSize);
    if (viaSpool) {
      if (await this.#toSpool(batch)) return true;
      // Out of order beats lost: with the spool failing, a database that answers still gets the batch.
      if (this.#dbUsable() && (await this.#toDatabase(batch))) return true;
    } else {
      if (await this.#toDatabase(batch)) return true;
      if (await this.#toSpool(batch)) return true;
    }
    this.#buffer = batch.concat(this.#buffer);
    const excess = this.#buffer.length - this.#config.bufferMax;
    if (excess > 0) {
      this.#buffer.length = this.#config.bufferMax;
      this.#drop(excess, 'audit buffer full');
    }
    return false;
  }

  async #toDatabase(batch: AuditEvent[]): Promise<boolean> {
    try {
      await this.#insert(batch, 'flush');
      this.#stats.written += batch.length;
      this.#spoolFailing = false;
      return true;
    } catch (err) {
      this.#lastError = describe(err);
      this.#loud('insert', 'warn', { err: this.#lastError, rows: batch.length }, 'audit: database insert failed or timed out; spooling');
      return false;
    }
  }

  async #toSpool(batch: AuditEvent[]): Promise<boolean> {
    try {
      await this.#spool.append(batch);
      this.#stats.spooled += batch.length;
      if (this.#spoolFailing) this.#log.info({ dir: this.#spool.dir }, 'audit: spool writable again');
      this.#spoolFailing = false;
      return true;
    } catch (err) {
      this.#spoolFailed(err);
      return false;
    }
  }

  // ---- replay

  #replay(): void {
    if (this.#replaying !== null || this.#closing || !this.#started || !this.#dbUsable() || !this.#spool.hasSegments()) return;
    this.#replaying = this.#replayTurn()
      .then(
        (more) => {
          // A full turn with segments left: carry on soon (flushes get their turn in between).
          if (more) setTimeout(() => this.#replay(), 0).unref();
        },
        (err: unknown) => {
          if (this.#closing) return;
          this.#lastError = describe(err);
          this.#loud('replay', 'warn', { err: this.#lastError, pendingRows: this.#spool.pendingRows() }, 'audit: spool replay stopped; retrying');
        },
      )
      .finally(() => {
        this.#replaying = null;
      });
  }

  /** Replays whole segments, oldest first, up to replayRowsPerTick rows; true when it stopped with segments left. */
  async #replayTurn(): Promise<boolean> {
    let rows = 0;
    while (rows < this.#replayRowsPerTick && !this.#closing) {
      const segments = this.#spool.segments();
      const oldest = segments[0];
      if (oldest === undefined) return false;
      // The last segment is the one flushes append to. A small one is drained with flushes held,
      // so no batch can slip in behind it and the writer returns to direct inserts in order.
      const hold = segments.length === 1 && oldest.rows <= this.#replayBatchSize;
      if (hold) {
        this.#holdFlushes = true;
        while (this.#flushing !== null) await this.#flushing;
      }
      try {
        if (hold && this.#spool.segments().length !== 1) continue;
        const name = await this.#spool.oldestSegment();
        if (name === null) return false;
        rows += await this.#replaySegment(name);
      } finally {
        if (hold) {
          this.#holdFlushes = false;
          if (this.#buffer.length > 0 || this.#flushAgain) this.#startFlush();
        }
      }
    }
    return this.#spool.hasSegments() && !this.#closing;
  }

  async #replaySegment(name: string): Promise<number> {
    let rows = 0;
    let chunk: AuditEvent[] = [];
    for await (const event of this.#spool.readSegment(name)) {
      chunk.push(event);
      if (chunk.length >= this.#replayBatchSize) {
        // Closing: stop between chunks; the segment stays and the next run replays it (idempotently).
        if (this.#closing) throw new Error('closing');
        await this.#insert(chunk, 'replay');
        rows += chunk.length;
        this.#stats.replayed += chunk.length;
        chunk = [];
      }
    }
    if (chunk.length > 0) {
      if (this.#closing) throw new Error('closing');
      await this.#insert(chunk, 'replay');
      rows += chunk.length;
      this.#stats.replayed += chunk.length;
    }
    await this.#spool.removeSegment(name);
    return rows;
  }

  // ---- database

  /** A database that is there, migrated, and not stuck on an insert given up on. */
  #dbUsable(): boolean {
    const stuck = this.#abandoned > 0 && Date.now() - this.#abandonedAt < this.#stuckMs;
    return this.#db !== null && !stuck && this.#dbReady();
  }

  /**
   * One INSERT for the batch, given up on after insertTimeoutMs (or sooner, see #giveUpWaits).
   * An insert given up on may still land: the spooled copy then replays as a no-op.
   */
  async #insert(events: readonly AuditEvent[], kind: 'flush' | 'replay'): Promise<void> {
    const db = this.#db;
    if (db === null) throw new Error('no database');
    const timeoutMs = Math.max(0, Math.min(this.#insertTimeoutMs, this.#insertDeadline - Date.now()));
    let settled = false;
    let abandoned = false;
    const running = insertAuditEvents(db, events).finally(() => {
      settled = true;
      if (abandoned) this.#abandoned -= 1;
    });
    let timer: NodeJS.Timeout | undefined;
    let giveUp!: (stuck: boolean) => void;
    const gaveUp = new Promise<never>((_, reject) => {
      giveUp = (stuck) => reject(Object.assign(new Error(`audit insert given up (${stuck ? 'memory full' : 'closing'})`), { stuck }));
      timer = setTimeout(() => reject(Object.assign(new Error(`audit insert took longer than ${timeoutMs} ms`), { stuck: true })), timeoutMs);
    });
    gaveUp.catch(() => undefined);
    this.#waits.set(giveUp, kind);
    try {
      const { rejected } = await Promise.race([running, gaveUp]);
      if (rejected.length > 0) await this.#reject(rejected);
    } catch (err) {
      if (!settled && !abandoned && (err as { stuck?: boolean }).stuck === true) {
        abandoned = true;
        this.#abandoned += 1;
        this.#abandonedAt = Date.now();
        running.catch(() => undefined);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.#waits.delete(giveUp);
    }
  }

  /** Rows Postgres refuses as invalid would block the spool forever: they go aside, loudly. */
  async #reject(events: AuditEvent[]): Promise<void> {
    this.#stats.rejected += events.length;
    this.#loud('rejected', 'error', { rows: events.length, requestIds: events.slice(0, 5).map((e) => e.requestId) }, 'audit: rows refused by Postgres; kept in rejected.ndjson');
    await this.#spool.quarantine(events).catch((err: unknown) => this.#log.error({ err: describe(err) }, 'audit: rejected rows could not be kept'));
  }

  /**
   * Stops waiting on inserts in progress, so their batches go to the spool. `stuck`: the
   * database is too slow (memory filled up meanwhile), so it is treated as stuck until they end.
   */
  #giveUpWaits(stuck: boolean, kind?: 'flush' | 'replay'): void {
    for (const [giveUp, waitKind] of this.#waits) if (kind === undefined || kind === waitKind) giveUp(stuck);
  }

  // ---- upkeep, failure, close

  #maintain(): void {
    const db = this.#db;
    if (db === null || this.#closing) return;
    const run = async (): Promise<boolean> => {
      if (!this.#dbReady()) return false;
      const now = this.#now();
      const ensured = await ensurePartitions(db, now, this.#config.partitionsAheadMonths);
      if (ensured.created.length > 0) this.#log.info(ensured, 'audit: partitions created');
      const dropped = await dropExpiredPartitions(db, now, this.#config.retentionDays);
      if (dropped.length > 0) this.#log.info({ dropped, retentionDays: this.#config.retentionDays }, 'audit: expired partitions dropped');
      return true;
    };
    void run()
      .catch((err: unknown) => {
        if (!this.#closing) this.#log.warn({ err: describe(err) }, 'audit: partition upkeep failed; retrying');
        return false;
      })
      .then((ok) => {
        if (this.#closing) return;
        const next = ok ? this.#maintenanceIntervalMs : Math.min(MAINTENANCE_RETRY_MS, this.#maintenanceIntervalMs);
        this.#maintenanceTimer = setTimeout(() => this.#maintain(), next).unref();
      });
  }

  #spoolFailed(err: unknown): void {
    this.#spoolFailing = true;
    this.#lastError = describe(err);
    this.#loud('spool', 'error', { err: this.#lastError, dir: this.#spool.dir, buffered: this.#buffer.length }, 'AUDIT SPOOL CANNOT BE WRITTEN: audit events are held in memory and will be dropped when it is full');
  }

  #drop(count: number, reason: string): void {
    this.#stats.dropped += count;
    this.#loud('drop', 'error', { dropped: count, total: this.#stats.dropped, reason }, 'AUDIT EVENTS DROPPED');
  }

  /** Logs at most once per LOUD_EVERY_MS per key, saying how many were held back. */
  #loud(key: string, level: 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const last = this.#loudAt.get(key);
    if (last !== undefined && now - last.at < LOUD_EVERY_MS) {
      last.suppressed += 1;
      return;
    }
    this.#loudAt.set(key, { at: now, suppressed: 0 });
    this.#log[level]({ ...obj, ...(last?.suppressed ? { suppressed: last.suppressed } : {}) }, msg);
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    for (const timer of [this.#flushTimer, this.#replayTimer, this.#maintenanceTimer]) clearTimeout(timer ?? undefined);
    this.#flushTimer = null;
    const started = Date.now();
    // Leave a quarter of the time (at most 1 s) to spool whatever the database did not take by then.
    this.#insertDeadline = started + timeoutMs - Math.min(1_000, timeoutMs / 4);
    const giveUpAt = setTimeout(() => this.#giveUpWaits(true), Math.max(0, this.#insertDeadline - started)).unref();
    // A replay is not needed now (the next run resumes it) and must not hold up the final flush.
    this.#giveUpWaits(false, 'replay');
    const work = (async () => {
      await this.#replaying;
      this.#holdFlushes = false;
      if (this.#started) await this.flush();
      else if (this.#buffer.length > 0) {
        await this.#spool.open().catch(() => undefined);
        this.#started = true;
        await this.flush();
      }
      await this.#spool.close();
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      work.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    clearTimeout(giveUpAt);
    const lost = this.#buffer.length;
    if (lost > 0 || timedOut) {
      this.#buffer = [];
      if (lost > 0) this.#drop(lost, timedOut ? 'close timed out' : 'neither inserted nor spooled at close');
    }
  }
}

// ---- the INSERT

const INSERT = `
  INSERT INTO audit_logs (request_id, ts, session_id, user_identifier, upstream, method, path, query, action,
    resource_type, resource_id, status, cache_outcome, cache_tier, total_ms, upstream_ms, request_bytes,
    response_bytes, client_ip, user_agent, error_code)
  SELECT request_id, to_timestamp(ts_ms / 1000), session_id, user_identifier, upstream, method, path, query, action,
    resource_type, resource_id, status, cache_outcome, cache_tier, total_ms, upstream_ms, request_bytes,
    response_bytes, client_ip, user_agent, error_code
  FROM unnest($1::text[], $2::float8[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::int2[], $13::text[], $14::text[], $15::float4[], $16::float4[],
    $17::int8[], $18::int8[], $19::text[], $20::text[], $21::text[])
    AS u(request_id, ts_ms, session_id, user_identifier, upstream, method, path, query, action, resource_type,
      resource_id, status, cache_outcome, cache_tier, total_ms, upstream_ms, request_bytes, response_bytes,
      client_ip, user_agent, error_code)
  ON CONFLICT (request_id, ts) DO NOTHING`;

/**
 * Inserts events with one statement (columns as arrays, unnest). Events Postgres refuses as
 * invalid data (SQLSTATE class 22 or 23) are retried one by one; those that fail again come back
 * in `rejected` instead of failing the others. `inserted` counts new rows (not duplicates).
 */
export async function insertAuditEvents(db: SqlClient, events: readonly AuditEvent[]): Promise<{ inserted: number; rejected: AuditEvent[] }> {
  if (events.length === 0) return { inserted: 0, rejected: [] };
  try {
    return { inserted: (await db.query(INSERT, columns(events))).rowCount, rejected: [] };
  } catch (err) {
    if (!isDataError(err)) throw err;
    if (events.length === 1) return { inserted: 0, rejected: [...events] };
  }
  let inserted = 0;
  const rejected: AuditEvent[] = [];
  for (const event of events) {
    const result = await insertAuditEvents(db, [event]);
    inserted += result.inserted;
    rejected.push(...result.rejected);
  }
  return { inserted, rejected };
}

function columns(events: readonly AuditEvent[]): unknown[][] {
  const n = events.length;
  const cols: unknown[][] = Array.from({ length: 21 }, () => new Array<unknown>(n));
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    cols[0]![i] = e.requestId;
    cols[1]![i] = e.ts;
    cols[2]![i] = e.sessionId;
    cols[3]![i] = e.userIdentifier;
    cols[4]![i] = e.upstream;
    cols[5]![i] = e.method;
    cols[6]![i] = e.path;
    cols[7]![i] = e.query;
    cols[8]![i] = e.action;
    cols[9]![i] = e.resourceType;
    cols[10]![i] = e.resourceId;
    cols[11]![i] = e.status;
    cols[12]![i] = e.cacheOutcome;
    cols[13]![i] = e.cacheTier;
    cols[14]![i] = e.totalMs;
    cols[15]![i] = e.upstreamMs;
    cols[16]![i] = e.requestBytes;
    cols[17]![i] = e.responseBytes;
    cols[18]![i] = e.clientIp;
    cols[19]![i] = e.userAgent;
    cols[20]![i] = e.errorCode;
  }
  return cols;
}

/** SQLSTATE class 22 (data exception) or 23 (integrity constraint violation): the rows, not the connection. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
