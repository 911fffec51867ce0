import { from as copyFrom } from 'pg-copy-streams';
import type { SqlClient, SqlDatabase } from '../db/sql.js';
import { copiable, COPY_COLUMNS, COPY_MAX_TS, encodeCopyChunk } from './copy-encoding.js';
import type { AuditRow } from './hit-row.js';
import { EVENTS_PER_TURN, nextTurn } from './in-turns.js';

/**
 * `COPY audit_logs FROM STDIN` for batches that were never attempted before: for Postgres a
 * COPY is far cheaper per row than `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` (no
 * array parsing, no speculative insertion, rows written to the partition in multi-row groups),
 * and for sidecache one text buffer is cheaper to build than 21 pg arrays.
 *
 * A COPY has no ON CONFLICT: a batch holding a row already in the table fails as a whole (and
 * writes nothing). That keeps idempotency with the primary key's help — a row is never written
 * twice — but it means a batch that may already be in (retried, timed out, spooled) must go
 * through the INSERT path (insert.ts), which skips such rows. The writer does exactly that.
 *
 * Only node-postgres can COPY: PGlite has no COPY FROM STDIN over this adapter, so its batches
 * always take the INSERT path (`canCopy`).
 */

/** Whether this database can take a COPY (node-postgres); PGlite cannot. */
export function canCopy(db: SqlDatabase): boolean {
  return db.kind === 'postgres';
}

const COPY_SQL = `COPY audit_logs (${COPY_COLUMNS.join(', ')}) FROM STDIN`;

/** Thrown when a batch cannot be copied at all (it is then inserted instead). */
export class CopyUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyUnavailable';
  }
}

/**
 * Copies the batch in one COPY statement; resolves the rows written. Rejects when Postgres
 * refuses the batch (a duplicate key, invalid data: nothing is written) or the connection fails
 * (the outcome is then unknown). Throws CopyUnavailable, before anything is sent, when the batch
 * cannot be encoded for COPY.
 */
export async function copyAuditRows(db: SqlClient, events: readonly AuditRow[]): Promise<number> {
  if (events.length === 0) return 0;
  // The first chunk is encoded before anything is sent, the rest while the COPY runs, a chunk
  // per turn of the event loop so a large batch never holds up requests for long.
  if (!events.every(copiable)) throw new CopyUnavailable(`a ts at or past ${COPY_MAX_TS} cannot be copied exactly`);
  const first = encodeCopyChunk(events.slice(0, EVENTS_PER_TURN))!;
  const stream = copyFrom(COPY_SQL);
  // pg-copy-streams predefines an empty `callback` for node-postgres to replace only when it sets
  // a query timeout. Without it, node-postgres hands the statement's completion to whoever
  // submitted it — here the pool, which then releases the connection (and, while the statement
  // runs, keeps an error listener on it, so a connection lost mid-COPY is an error, not a crash).
  (stream as { callback?: unknown }).callback = undefined;
  const done = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.on('error', reject);
  });
  // node-postgres runs any "submittable" handed to query() — which is how pg-copy-streams plugs in
  // — and the adapter passes what it is given straight to the pool. That promise settles when the
  // statement ends (or the connection could not be had); the stream says how it ended.
  const submitted = db.query(stream as unknown as string);
  // Handled from here on: the COPY can fail while later chunks are still being encoded.
  const settled = Promise.all([submitted, done]);
  settled.catch(() => undefined);
  // Held until Postgres answers CopyInResponse, then sent with CopyDone behind the last chunk.
  try {
    stream.write(first);
    for (let from = EVENTS_PER_TURN; from < events.length && !stream.destroyed; from += EVENTS_PER_TURN) {
      await nextTurn();
      if (!stream.destroyed) stream.write(encodeCopyChunk(events.slice(from, from + EVENTS_PER_TURN))!);
    }
    if (!stream.destroyed) stream.end();
  } catch (err) {
    // Destroying the stream sends CopyFail: Postgres rolls the COPY back and frees the connection.
    stream.destroy(err as Error);
  }
  await settled;
  return stream.rowCount;
}
