import type { SqlDatabase } from '../../db/sql.js';
import { sleep, systemClock } from '../../resilience/clock.js';

/** The database as leadership needs it: migrated or not yet, Postgres or PGlite. */
export interface LeaseDatabase {
  readonly db: SqlDatabase;
  ready(): boolean;
}

/** How often the leader checks that its lock connection still lives (a dead one has lost the lock). */
const PING_MS = 5_000;

/**
 * One subscriber per feed across all instances: the one holding a Postgres advisory lock on a
 * dedicated connection, keyed by the schema and the feed. Invalidations reach the other
 * instances through epochs and the bus, so one subscription is enough, Salesforce counts one
 * delivery per event, and the cursor has one writer. When the leader stops or its connection
 * dies, Postgres frees the lock and a standby takes over within `pollMs`. PGlite belongs to one
 * process, which leads without a lock.
 */
export class FeedLeadership {
  readonly #database: LeaseDatabase;
  readonly #name: string;
  readonly #pollMs: number;

  constructor(database: LeaseDatabase, name: string, options: { pollMs: number }) {
    this.#database = database;
    this.#name = name;
    this.#pollMs = options.pollMs;
  }

  /** Runs `lead` whenever this instance holds the feed (its signal aborts when the lock is lost), until `stop`. */
  async run(lead: (lost: AbortSignal) => Promise<void>, stop: AbortSignal, report: (state: 'standby', error?: string) => void): Promise<void> {
    while (!stop.aborted) {
      if (!this.#database.ready()) {
        report('standby', 'the database is not ready (migrations pending)');
      } else if (this.#database.db.kind === 'pglite') {
        await lead(stop);
      } else {
        const led = await this.#tryLead(lead, stop).catch((err: Error) => {
          report('standby', `leadership: ${err.message}`);
          return false;
        });
        if (!led) report('standby');
      }
      await sleep(systemClock, this.#pollMs, stop).catch(() => undefined);
    }
  }

  /** False when another instance holds the lock. */
  #tryLead(lead: (lost: AbortSignal) => Promise<void>, stop: AbortSignal): Promise<boolean> {
    return this.#database.db.withClient(async (client) => {
      const key = "hashtextextended(current_schema() || ':' || $1, 0)";
      const { rows } = await client.query<{ held: boolean }>(`SELECT pg_try_advisory_lock(${key}) AS held`, [this.#name]);
      if (rows[0]?.held !== true) return false;
      const lost = new AbortController();
      const ping = setInterval(() => {
        client.query('SELECT 1').catch(() => lost.abort());
      }, PING_MS);
      try {
        await lead(AbortSignal.any([lost.signal, stop]));
      } finally {
        clearInterval(ping);
      }
      if (lost.signal.aborted) throw new Error('the lock connection was lost');
      await client.query(`SELECT pg_advisory_unlock(${key})`, [this.#name]);
      return true;
    });
  }
}
