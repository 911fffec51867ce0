import type { DatabaseWrites } from './database-writes.js';
import type { AuditEvent } from './events.js';
import type { Spool } from './spool.js';

/**
 * The spool replay loop: inserts the spool's segments into `audit_logs`, oldest first, with the
 * repeatable INSERT (database-writes.ts), and deletes each segment once it is in. A turn replays
 * whole segments up to `rowsPerTick` rows, then yields to flushes; a turn that stopped with
 * segments left carries on at once, otherwise the next turn is `intervalMs` away.
 *
 * Order: flushes append to the newest segment while the spool holds anything. The last segment
 * is drained with flushes held (`FlushGate`), so no batch can slip in behind it and the writer
 * goes back to writing directly with every earlier event already in.
 */

/** The writer's side of the handshake that keeps rows in order. */
export interface FlushGate {
  /** Stops new flushes and resolves once the one running (if any) is over. */
  hold(): Promise<void>;
  /** Lets flushes run again (and starts one if events are waiting). */
  release(): void;
}

export interface ReplayerOptions {
  readonly spool: Spool;
  readonly writes: DatabaseWrites;
  readonly gate: FlushGate;
  /** Whether a turn may start now (the writer started, the database usable). */
  readonly ready: () => boolean;
  readonly intervalMs: number;
  /** Rows per INSERT. */
  readonly batchSize: number;
  /** Rows one turn replays at most (whole segments). */
  readonly rowsPerTick: number;
  /** A turn failed (the database went away again, ...); the next turn retries. */
  readonly onError: (err: unknown) => void;
}

export class Replayer {
  readonly #o: ReplayerOptions;
  #running: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #replayed = 0;

  constructor(options: ReplayerOptions) {
    this.#o = options;
  }

  /** Spooled events inserted so far. */
  replayed(): number {
    return this.#replayed;
  }

  /** Starts the periodic turns, and one now. */
  start(): void {
    if (this.#o.intervalMs > 0) this.#timer = setInterval(() => this.kick(), this.#o.intervalMs).unref();
    this.kick();
  }

  /** Starts a turn unless one is running or there is nothing (or no way) to replay. */
  kick(): void {
    if (this.#running !== null || this.#stopped || !this.#o.ready() || !this.#o.spool.hasSegments()) return;
    this.#running = this.#turn()
      .then(
        (more) => {
          // A full turn with segments left: carry on soon (flushes get their turn in between).
          if (more) setTimeout(() => this.kick(), 0).unref();
        },
        (err: unknown) => {
          if (!this.#stopped) this.#o.onError(err);
        },
      )
      .finally(() => {
        this.#running = null;
      });
  }

  /**
   * Stops: no new turns, and the one running stops between batches (its segment stays, and the
   * next run replays it — idempotently). Resolves when it has.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Replays whole segments, oldest first, up to rowsPerTick rows; true when it stopped with segments left. */
  async #turn(): Promise<boolean> {
    const { spool, gate } = this.#o;
    let rows = 0;
    while (rows < this.#o.rowsPerTick && !this.#stopped) {
      const segments = spool.segments();
      const oldest = segments[0];
      if (oldest === undefined) return false;
      // The last segment is the one flushes append to. A small one is drained with flushes held,
      // so no batch can slip in behind it and the writer returns to direct writes in order.
      const hold = segments.length === 1 && oldest.rows <= this.#o.batchSize;
      if (hold) await gate.hold();
      try {
        if (hold && spool.segments().length !== 1) continue;
        const name = await spool.oldestSegment();
        if (name === null) return false;
        rows += await this.#replaySegment(name);
      } finally {
        if (hold) gate.release();
      }
    }
    return spool.hasSegments() && !this.#stopped;
  }

  async #replaySegment(name: string): Promise<number> {
    let rows = 0;
    let chunk: AuditEvent[] = [];
    const write = async (): Promise<void> => {
      // Stopping: stop between chunks; the segment stays and the next run replays it (idempotently).
      if (this.#stopped) throw new Error('closing');
      await this.#o.writes.write(chunk, 'replay');
      rows += chunk.length;
      this.#replayed += chunk.length;
      chunk = [];
    };
    for await (const event of this.#o.spool.readSegment(name)) {
      chunk.push(event);
      if (chunk.length >= this.#o.batchSize) await write();
    }
    if (chunk.length > 0) await write();
    await this.#o.spool.removeSegment(name);
    return rows;
  }
}
