import type { AuditConfig } from '../config/types.js';
import type { SqlDatabase } from '../db/sql.js';
import { BatchSink } from './batch-sink.js';
import { DatabaseWrites } from './database-writes.js';
import { LRUCache } from 'lru-cache';
import { auditEvent, type AuditEventFields } from './events.js';
import { auditCaller, HitRow, type AuditCaller, type AuditRow } from './hit-row.js';
import { mapInTurns } from './in-turns.js';
import { withPrivacy } from './privacy.js';
import { describe, LoudLog, type AuditLogger } from './log.js';
import { PartitionUpkeep } from './maintenance.js';
import { Replayer } from './replayer.js';
import { Spool } from './spool.js';
import { FlushTimer } from './flush-timer.js';
import { writerTunables, type AuditHealth, type AuditWriterOptions, type AuditWriterStats } from './writer-options.js';

export type { AuditLogger } from './log.js';
export type { AuditHealth, AuditWriterOptions, AuditWriterStats } from './writer-options.js';
export { insertAuditEvents } from './insert.js';

/**
 * Writes audit events to `audit_logs` without ever making a request wait.
 *
 * `record()` pushes onto an in-memory buffer. A flush — every `flushIntervalMs`, or at once when
 * `batchSize` events are waiting — writes everything waiting (up to FLUSH_MAX_EVENTS; batchSize
 * on PGlite) with one statement (one flush at a time): a COPY on Postgres, the idempotent INSERT on PGlite or when Postgres refuses the
 * COPY (database-writes.ts). A write that fails, or takes longer than `insertTimeoutMs` (or is
 * still running when the buffer reaches `bufferMax`), sends its batch to the spool (spool.ts:
 * fsynced NDJSON segments). While the spool holds anything, new batches are appended to it too,
 * so events reach the table in the order they were recorded; the replayer (replayer.ts) inserts
 * the segments oldest first with `ON CONFLICT (request_id, ts) DO NOTHING` and deletes each once
 * it is in, so a write that timed out but landed anyway, or a segment replayed twice after a
 * crash, never writes a row twice.
 *
 * When the spool cannot be written (full disk, permissions; batch-sink.ts says so loudly and
 * writes directly when Postgres answers), events wait in memory up to `bufferMax`, any beyond
 * dropped and counted. sidecache keeps serving then, unless `failClosed` is set: `accepting()`
 * turns false and the app refuses requests.
 *
 * Loss bound for kill -9: events recorded since the last flush (at most `flushIntervalMs` ago)
 * plus the batch in flight (at most `insertTimeoutMs`), never more than `bufferMax`. With `db: null`
 * every batch is spooled for a later run. Partitions are kept by maintenance.ts.
 */

/** After a flush that could neither write nor spool, the next try waits this long. */
const RETRY_MS = 1_000;
const LOUD_EVERY_MS = 10_000;
/**
 * One flush to Postgres or the spool takes everything waiting, up to this many events (or
 * batchSize, if larger): one COPY, or one spool append (one write + fsync). So the events that
 * arrive while a write is in flight go in with the next statement (group commit): when Postgres
 * is slow to answer, batches grow instead of a backlog, and each row pays a smaller share of the
 * statement's round trip and commit. Embedded PGlite runs its statements on this thread, so
 * there a flush keeps to batchSize.
 */
const FLUSH_MAX_EVENTS = 10_000;
/** Callers whose row part (hit-row.ts) is kept ready. */
const CALLERS_KEPT = 4_096;

/** A caller's part as made, with what it was made from (raw, before normalising). */
interface KeptCaller {
  readonly sessionId: string | null;
  readonly userIdentifier: string | null;
  readonly clientIp: string | undefined;
  readonly userAgent: string | null;
  readonly part: AuditCaller;
}

export class AuditWriter {
  readonly #db: SqlDatabase | null;
  readonly #config: AuditConfig;
  readonly #log: AuditLogger;
  readonly #loud: LoudLog;
  readonly #spool: Spool;
  readonly #writes: DatabaseWrites;
  readonly #sink: BatchSink;
  readonly #replayer: Replayer;
  readonly #upkeep: PartitionUpkeep | null;

  /** Events as recorded; normalised (auditEvent, HitRow.normalise; idempotent) a batch at a time when flushed. */
  #buffer: Array<AuditEventFields | AuditRow> = [];
  readonly #callers = new LRUCache<string, KeptCaller>({ max: CALLERS_KEPT });
  #flushing: Promise<void> | null = null;
  #flushAgain = false;
  /** Set by flush(): the loop writes everything buffered, not just full batches. */
  #drainAll = false;
  readonly #flushTimer = new FlushTimer(() => this.#startFlush());
  /** After a flush that could neither write nor spool, flushes wait until then. */
  #retryAt = 0;
  /** Set by the replayer while it drains the last segment: flushes wait, so order is kept. */
  #holdFlushes = false;
  #startCalled = false;
  #started = false;
  #closing = false;
  #closed: Promise<void> | null = null;
  #dropped = 0;

  constructor(options: AuditWriterOptions) {
    const { config } = options;
    for (const [name, value] of [['batchSize', config.batchSize], ['bufferMax', config.bufferMax]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`AuditWriter: config.${name} must be a positive integer, got ${value}`);
    }
    this.#db = options.db;
    this.#config = config;
    this.#log = options.log;
    this.#loud = new LoudLog(options.log, LOUD_EVERY_MS);
    const dbReady = options.dbReady ?? (() => true);
    const tune = writerTunables(options);
    this.#spool = new Spool({ dir: config.spoolDir, ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }) });
    this.#writes = new DatabaseWrites({
      db: options.db,
      dbReady,
      insertTimeoutMs: tune.insertTimeoutMs,
      stuckMs: tune.stuckMs,
      onRejected: (events) => this.#sink.reject(events),
      onCopyBroken: (err) => this.#loud.say('copy', 'error', { err: describe(err) }, 'audit: COPY failed unexpectedly; batch inserted instead'),
    });
    this.#replayer = new Replayer({
      spool: this.#spool,
      writes: this.#writes,
      gate: {
        hold: async () => {
          this.#holdFlushes = true;
          while (this.#flushing !== null) await this.#flushing;
        },
        release: () => {
          this.#holdFlushes = false;
          if (this.#buffer.length > 0 || this.#flushAgain) this.#startFlush();
        },
      },
      ready: () => this.#started && !this.#closing && this.#writes.usable(),
      intervalMs: tune.replayIntervalMs,
      batchSize: tune.replayBatchSize,
      rowsPerTick: tune.replayRowsPerTick,
      onError: (err) => {
        this.#loud.say('replay', 'warn', { err: this.#sink.noteError(describe(err)), pendingRows: this.#spool.pendingRows() }, 'audit: spool replay stopped; retrying');
      },
    });
    this.#sink = new BatchSink({ writes: this.#writes, spool: this.#spool, log: options.log, loud: this.#loud, buffered: () => this.#buffer.length });
    const upkeep = { config, log: options.log, now: options.now ?? Date.now, dbReady, intervalMs: tune.maintenanceIntervalMs };
    this.#upkeep = options.db === null ? null : new PartitionUpkeep({ db: options.db, ...upkeep });
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
      this.#sink.spoolFailed(err);
    }
    // Only now may flushes run: a flush must know whether an earlier run left rows in the spool.
    this.#started = true;
    if (this.#db === null) this.#log.warn({ dir: this.#spool.dir }, 'audit: no database; audit events are spooled until a run with one replays them');
    this.#replayer.start();
    this.#upkeep?.start();
    if (this.#buffer.length > 0) this.#flushTimer.arm(0);
  }

  /**
   * The caller part of a memory hit's row (hit-row.ts), normalised and encoded once per caller.
   * Kept by session id (else user, else address): the session store hands out the same id string
   * for a session every time, so the look-up hashes nothing new; the other values are compared.
   */
  caller(sessionId: string | null, userIdentifier: string | null, clientIp: string | undefined, userAgent: string | null): AuditCaller {
    const key = sessionId ?? userIdentifier ?? clientIp ?? '';
    const kept = this.#callers.get(key);
    if (kept !== undefined && kept.sessionId === sessionId && kept.userIdentifier === userIdentifier && kept.clientIp === clientIp && kept.userAgent === userAgent) {
      return kept.part;
    }
    const part = auditCaller({ sessionId, userIdentifier, clientIp: clientIp ?? null, userAgent }, this.#config);
    this.#callers.set(key, { sessionId, userIdentifier, clientIp, userAgent, part });
    return part;
  }

  /** Takes one event (or memory hit row) for the audit trail, normalised when flushed; never throws, never waits. */
  record(event: AuditEventFields | HitRow): void {
    try {
      if (!this.#config.enabled) return;
      if (this.#closing) {
        this.#drop(1, 'recorded after close');
        return;
      }
      if (this.#buffer.length >= this.#config.bufferMax) {
        this.#drop(1, 'audit buffer full');
        this.#writes.giveUpWaits(true);
        return;
      }
      // Normalising waits for the flush; only a non-object could make it throw, so none gets in.
      if (typeof event !== 'object' || event === null) throw new TypeError(`audit event must be an object, got ${event === null ? 'null' : typeof event}`);
      const length = this.#buffer.push(event);
      if (length >= this.#config.bufferMax) this.#writes.giveUpWaits(true);
      if (length < this.#config.batchSize) this.#flushTimer.arm(this.#config.flushIntervalMs);
      else if (this.#flushing !== null) this.#flushAgain = true;
      else this.#flushTimer.arm(0);
    } catch (err) {
      this.#dropped += 1;
      this.#sink.noteError(String(err));
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

  /** Whether rows spooled during an outage still wait to be replayed; if so, starts a replay turn. */
  replayPending(): boolean {
    if (!this.#spool.hasSegments()) return false;
    this.#replayer.kick();
    return true;
  }

  stats(): AuditWriterStats {
    return { buffered: this.#buffer.length, replayed: this.#replayer.replayed(), dropped: this.#dropped, ...this.#sink.stats() };
  }

  /** 'failing': events can be neither written nor spooled; 'spooling': events wait in the spool. */
  health(): AuditHealth {
    if (this.#sink.spoolFailing) return 'failing';
    if (this.#spool.hasSegments() || !this.#writes.usable()) return 'spooling';
    return 'ok';
  }

  /** False only with `failClosed` while failing: the app should then refuse requests (503). */
  accepting(): boolean {
    return !(this.#config.failClosed && this.#sink.spoolFailing);
  }

  /**
   * Stops the timers and writes what is buffered: written when the database takes it in time,
   * else spooled (fsynced). Resolves within about `timeoutMs`; what is still unwritten is counted as dropped.
   */
  close(timeoutMs = 5_000): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  // ---- flushing

  #startFlush(): void {
    if (!this.#started || this.#holdFlushes || this.#flushing !== null) {
      this.#flushAgain = true;
      return;
    }
    const wait = this.#retryAt - Date.now();
    if (wait > 0 && !this.#closing && !this.#drainAll) {
      this.#flushTimer.arm(wait);
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
        if (!this.#closing) this.#flushTimer.arm(RETRY_MS);
        return;
      }
    }
    if (this.#buffer.length > 0 && !this.#closing) this.#flushTimer.arm(this.#config.flushIntervalMs);
  }

  /** Writes one batch: to the database, else spooled, else put back. False when it had to be put back. */
  async #flushOnce(): Promise<boolean> {
    const viaSpool = this.#sink.viaSpool();
    // Group commit only where the statement runs in Postgres (a COPY), not on PGlite's thread.
    const taken = this.#buffer.splice(0, viaSpool || this.#writes.copies ? Math.max(this.#config.batchSize, FLUSH_MAX_EVENTS) : this.#config.batchSize);
    const batch = await mapInTurns(taken, (item): AuditRow => (item instanceof HitRow ? item.normalise() : withPrivacy(auditEvent(item), this.#config)));
    if (await this.#sink.deliver(batch, viaSpool)) return true;
    this.#buffer = (batch as Array<AuditEventFields | AuditRow>).concat(this.#buffer);
    const excess = this.#buffer.length - this.#config.bufferMax;
    if (excess > 0) {
      this.#buffer.length = this.#config.bufferMax;
      this.#drop(excess, 'audit buffer full');
    }
    return false;
  }

  // ---- failure, close

  #drop(count: number, reason: string): void {
    this.#dropped += count;
    this.#loud.say('drop', 'error', { dropped: count, total: this.#dropped, reason }, 'AUDIT EVENTS DROPPED');
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    this.#flushTimer.cancel();
    this.#upkeep?.stop();
    // A replay is not needed now (the next run resumes it) and must not hold up the final flush.
    const replayStopped = this.#replayer.stop();
    this.#writes.giveUpWaits(false, 'replay');
    const started = Date.now();
    // Leave a quarter of the time (at most 1 s) to spool whatever the database did not take by then.
    const deadline = started + timeoutMs - Math.min(1_000, timeoutMs / 4);
    this.#writes.setDeadline(deadline);
    const giveUpAt = setTimeout(() => this.#writes.giveUpWaits(true), Math.max(0, deadline - started)).unref();
    const work = (async () => {
      await replayStopped;
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
      if (lost > 0) this.#drop(lost, timedOut ? 'close timed out' : 'neither written nor spooled at close');
    }
  }
}
