import type { DatabaseWrites } from './database-writes.js';
import type { AuditEvent } from './events.js';
import { eventOf, type AuditRow } from './hit-row.js';
import { mapInTurns } from './in-turns.js';
import { describe, type AuditLogger, type LoudLog } from './log.js';
import type { Spool } from './spool.js';
import type { AuditWriterStats } from './writer-options.js';

interface BatchSinkOptions {
  readonly writes: DatabaseWrites;
  readonly spool: Spool;
  readonly log: AuditLogger;
  readonly loud: LoudLog;
  /** Events waiting in memory, for the line that says the spool cannot be written. */
  readonly buffered: () => number;
}

/**
 * Where the audit writer's flushed batches go: the database, else the spool; the spool first
 * while it holds anything (so rows arrive in order) or the database is away, and then the
 * database if the spool cannot be written (out of order beats lost). Keeps the counts, whether
 * the spool is failing, and the last error.
 */
export class BatchSink {
  readonly #o: BatchSinkOptions;
  readonly #counts = { written: 0, spooled: 0, rejected: 0 };
  #spoolFailing = false;
  #lastError: string | null = null;

  constructor(options: BatchSinkOptions) {
    this.#o = options;
  }

  get spoolFailing(): boolean {
    return this.#spoolFailing;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  /** What the sink knows of `AuditWriter.stats()`: the spool, the counts, the last error. */
  stats(): Omit<AuditWriterStats, 'buffered' | 'replayed' | 'dropped'> {
    const { spool } = this.#o;
    return {
      spoolPendingRows: spool.pendingRows(),
      spoolSegments: spool.segments().length,
      ...this.#counts,
      skippedLines: spool.skippedLines(),
      spoolFailing: this.#spoolFailing,
      lastError: this.#lastError,
    };
  }

  /** Remembers an error (as one line) for `stats().lastError`, and returns it. */
  noteError(line: string): string {
    this.#lastError = line;
    return line;
  }

  /** True while batches go to the spool first: it holds rows, or the database cannot take them. */
  viaSpool(): boolean {
    return !this.#o.writes.usable() || this.#o.spool.hasSegments();
  }

  /** Writes or spools one batch (routed by `viaSpool`, as read before it was taken); false when neither worked. */
  async deliver(batch: AuditRow[], viaSpool: boolean): Promise<boolean> {
    if (viaSpool) {
      if (await this.#toSpool(batch)) return true;
      return this.#o.writes.usable() && (await this.#toDatabase(batch));
    }
    return (await this.#toDatabase(batch)) || (await this.#toSpool(batch));
  }

  /** Rows Postgres refuses as invalid would block the spool forever: they go aside, loudly. */
  async reject(events: AuditEvent[]): Promise<void> {
    this.#counts.rejected += events.length;
    this.#o.loud.say('rejected', 'error', { rows: events.length, requestIds: events.slice(0, 5).map((e) => e.requestId) }, 'audit: rows refused by Postgres; kept in rejected.ndjson');
    await this.#o.spool.quarantine(events).catch((err: unknown) => this.#o.log.error({ err: describe(err) }, 'audit: rejected rows could not be kept'));
  }

  /** The spool could not be opened or written: say so loudly; `health()` is 'failing' until it works again. */
  spoolFailed(err: unknown): void {
    this.#spoolFailing = true;
    this.noteError(describe(err));
    this.#o.loud.say('spool', 'error', { err: this.#lastError, dir: this.#o.spool.dir, buffered: this.#o.buffered() }, 'AUDIT SPOOL CANNOT BE WRITTEN: audit events are held in memory and will be dropped when it is full');
  }

  async #toDatabase(batch: AuditRow[]): Promise<boolean> {
    try {
      await this.#o.writes.write(batch, 'flush');
      this.#counts.written += batch.length;
      this.#spoolFailing = false;
      return true;
    } catch (err) {
      this.#o.loud.say('insert', 'warn', { err: this.noteError(describe(err)), rows: batch.length }, 'audit: database write failed or timed out; spooling');
      return false;
    }
  }

  async #toSpool(batch: AuditRow[]): Promise<boolean> {
    try {
      await this.#o.spool.append(await mapInTurns(batch, eventOf));
      this.#counts.spooled += batch.length;
      if (this.#spoolFailing) this.#o.log.info({ dir: this.#o.spool.dir }, 'audit: spool writable again');
      this.#spoolFailing = false;
      return true;
    } catch (err) {
      this.spoolFailed(err);
      return false;
    }
  }
}
