import type { SqlClient } from '../../db/sql.js';
import { msFromTimestamp, timestampFromMs } from '../../db/sql-time.js';

/** A stored position: the opaque replay id and when it was stored (epoch ms). */
export interface Cursor {
  readonly replayId: Buffer;
  readonly updatedAt: number;
}

/** `change_feed_cursors` (migrations/0009): one replay id per feed. */
export class CursorStore {
  readonly #db: SqlClient;

  constructor(db: SqlClient) {
    this.#db = db;
  }

  async load(feed: string): Promise<Cursor | null> {
    const { rows } = await this.#db.query<{ replay_id: Buffer; updated_ms: number }>(
      `SELECT replay_id, ${msFromTimestamp('updated_at')} AS updated_ms FROM change_feed_cursors WHERE feed = $1`,
      [feed],
    );
    const row = rows[0];
    return row === undefined ? null : { replayId: Buffer.from(row.replay_id), updatedAt: Math.round(Number(row.updated_ms)) };
  }

  async save(feed: string, replayId: Buffer, atMs: number): Promise<void> {
    await this.#db.query(
      `INSERT INTO change_feed_cursors (feed, replay_id, updated_at) VALUES ($1, $2, ${timestampFromMs('$3')})
       ON CONFLICT (feed) DO UPDATE SET replay_id = EXCLUDED.replay_id, updated_at = EXCLUDED.updated_at`,
      [feed, replayId, atMs],
    );
  }

  /** Forgets the position (after a replay id Salesforce no longer has), so the next start uses the configured preset. */
  async clear(feed: string): Promise<void> {
    await this.#db.query('DELETE FROM change_feed_cursors WHERE feed = $1', [feed]);
  }
}
