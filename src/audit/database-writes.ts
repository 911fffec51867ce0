import type { SqlDatabase } from '../db/sql.js';
import { canCopy, copyAuditRows, CopyUnavailable } from './copy.js';
import type { AuditEvent } from './events.js';
import { auditEvents, type AuditRow } from './hit-row.js';
import { insertAuditEvents, isServerError } from './insert.js';

/**
 * How a batch reaches `audit_logs`, and how long the writer waits for it.
 *
 * A flushed batch — new events, never attempted — is copied (copy.ts) when the database is
 * node-postgres. If Postgres refuses the COPY (a row already there, invalid data, any error it
 * answers with), nothing was written, and the batch is inserted at once with `ON CONFLICT DO
 * NOTHING` (insert.ts), which skips rows already in and sets invalid ones aside. (Inserting at
 * once would be safe even if the COPY had landed: the INSERT skips what is there.) A COPY that
 * fails any other way (connection lost, given up on) has an unknown outcome: it fails the write,
 * so the writer spools the batch, and the spool is replayed with the INSERT — which is why a row
 * can never be written twice. Replays, and every write on PGlite, use the INSERT.
 *
 * Every statement is given up on after `insertTimeoutMs` (or sooner: `giveUpWaits`, `deadline`).
 * A statement given up on may still land; while one is still running (at most `stuckMs`), the
 * database counts as stuck and `usable()` is false, so the writer spools instead of piling up
 * more statements behind it.
 */

export type WriteKind = 'flush' | 'replay';

export interface DatabaseWritesOptions {
  readonly db: SqlDatabase | null;
  /** False while the database cannot take writes yet (migrations pending). */
  readonly dbReady: () => boolean;
  readonly insertTimeoutMs: number;
  readonly stuckMs: number;
  /** Events Postgres refused as invalid: they must go aside, or they would block the spool forever. */
  readonly onRejected: (events: AuditEvent[]) => Promise<void>;
  /** A COPY failed with a TypeError (a bug, not Postgres or the network); its batch is inserted instead. */
  readonly onCopyBroken: (err: unknown) => void;
}

export class DatabaseWrites {
  readonly #db: SqlDatabase | null;
  readonly #dbReady: () => boolean;
  readonly #insertTimeoutMs: number;
  readonly #stuckMs: number;
  readonly #onRejected: (events: AuditEvent[]) => Promise<void>;
  readonly #onCopyBroken: (err: unknown) => void;
  readonly #copy: boolean;
  /** Statements given up on that are still running, and when the last was given up on. */
  #abandoned = 0;
  #abandonedAt = 0;
  /** Gives up the statements being waited on (memory full, close), by kind. */
  readonly #waits = new Map<(stuck: boolean) => void, WriteKind>();
  /** While closing: statements must be done by then, leaving time to spool what is left. */
  #deadline = Infinity;

  constructor(options: DatabaseWritesOptions) {
    this.#db = options.db;
    this.#dbReady = options.dbReady;
    this.#insertTimeoutMs = options.insertTimeoutMs;
    this.#stuckMs = options.stuckMs;
    this.#onRejected = options.onRejected;
    this.#onCopyBroken = options.onCopyBroken;
    this.#copy = options.db !== null && canCopy(options.db);
  }

  /** Whether new batches are copied (node-postgres), not inserted (PGlite, or no database). */
  get copies(): boolean {
    return this.#copy;
  }

  /** A database that is there, migrated, and not stuck on a statement given up on. */
  usable(): boolean {
    const stuck = this.#abandoned > 0 && Date.now() - this.#abandonedAt < this.#stuckMs;
    return this.#db !== null && !stuck && this.#dbReady();
  }

  /** Resolves once the batch is in (rows Postgres refused as invalid set aside); rejects when its outcome is unknown. */
  async write(rows: readonly AuditRow[], kind: WriteKind): Promise<void> {
    const db = this.#db;
    if (db === null) throw new Error('no database');
    if (kind === 'flush' && this.#copy) {
      try {
        await this.#bounded(copyAuditRows(db, rows), kind);
        return;
      } catch (err) {
        // A bug rather than Postgres or the network (the adapter no longer passing the COPY
        // through, say): said loudly, and the batch inserted like a refused one.
        if (err instanceof TypeError) this.#onCopyBroken(err);
        else if (!isServerError(err) && !(err instanceof CopyUnavailable)) throw err;
      }
    }
    const { rejected } = await this.#bounded(insertAuditEvents(db, auditEvents(rows)), kind);
    if (rejected.length > 0) await this.#onRejected(rejected);
  }

  /**
   * Stops waiting on statements in progress (of one kind, or all), so their batches go to the
   * spool. `stuck`: the database is too slow (memory filled up meanwhile), so it is treated as
   * stuck until they end.
   */
  giveUpWaits(stuck: boolean, kind?: WriteKind): void {
    for (const [giveUp, waitKind] of this.#waits) if (kind === undefined || kind === waitKind) giveUp(stuck);
  }

  /** From now on every statement is given up on by `at` (epoch ms) at the latest. */
  setDeadline(at: number): void {
    this.#deadline = at;
  }

  /** Waits for `running` for at most insertTimeoutMs (or until given up on). */
  async #bounded<T>(running: Promise<T>, kind: WriteKind): Promise<T> {
    const timeoutMs = Math.max(0, Math.min(this.#insertTimeoutMs, this.#deadline - Date.now()));
    let settled = false;
    let abandoned = false;
    const tracked = running.finally(() => {
      settled = true;
      if (abandoned) this.#abandoned -= 1;
    });
    let timer: NodeJS.Timeout | undefined;
    let giveUp!: (stuck: boolean) => void;
    const gaveUp = new Promise<never>((_, reject) => {
      giveUp = (stuck) => reject(Object.assign(new Error(`audit write given up (${stuck ? 'memory full' : 'closing'})`), { stuck }));
      timer = setTimeout(() => reject(Object.assign(new Error(`audit write took longer than ${timeoutMs} ms`), { stuck: true })), timeoutMs);
    });
    gaveUp.catch(() => undefined);
    this.#waits.set(giveUp, kind);
    try {
      return await Promise.race([tracked, gaveUp]);
    } catch (err) {
      if (!settled && !abandoned && (err as { stuck?: boolean }).stuck === true) {
        abandoned = true;
        this.#abandoned += 1;
        this.#abandonedAt = Date.now();
        tracked.catch(() => undefined);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.#waits.delete(giveUp);
    }
  }
}
