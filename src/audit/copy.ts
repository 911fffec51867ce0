import { from as copyFrom } from 'pg-copy-streams';
import type { SqlClient, SqlDatabase } from '../db/sql.js';
import { COPY_NULL, copyText } from './copy-text.js';
import type { AuditEvent } from './events.js';
import { HitRow, type AuditRow } from './hit-row.js';
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

/**
 * The columns of a COPY line, in order: a row's own values first, then what its URL decides,
 * then who asked, then how it was answered, so a memory hit's row (hit-row.ts) is its own five
 * values followed by two parts encoded ahead and a constant tail.
 */
export const COPY_COLUMNS = [
  'request_id', 'ts', 'status', 'total_ms', 'response_bytes',
  'upstream', 'method', 'path', 'query', 'action', 'resource_type', 'resource_id',
  'session_id', 'user_identifier', 'client_ip', 'user_agent',
  'cache_outcome', 'cache_tier', 'upstream_ms', 'request_bytes', 'error_code',
] as const;

/** The last five columns of a memory hit's row. */
const HIT_TAIL = `HIT\tmemory\t${COPY_NULL}\t0\t${COPY_NULL}\n`;

const COPY_SQL = `COPY audit_logs (${COPY_COLUMNS.join(', ')}) FROM STDIN`;

/**
 * Latest `ts` (epoch ms, exclusive) a COPY may carry: up to here the INSERT path's
 * `to_timestamp(ts_ms / 1000)` lands on exactly the millisecond COPY's ISO text names (checked
 * against Postgres), so a row first copied and later replayed still meets itself in the primary
 * key. Beyond it (year 2106) float rounding could make them differ; such batches are inserted.
 */
export const COPY_MAX_TS = 2 ** 32 * 1000;

/** Whether this database can take a COPY (node-postgres); PGlite cannot. */
export function canCopy(db: SqlDatabase): boolean {
  return db.kind === 'postgres';
}

const copiable = (row: AuditRow): boolean => row.ts >= 0 && row.ts < COPY_MAX_TS;


/**
 * `ts` as ISO-8601 UTC text (`2026-01-15T12:00:00.001Z`). A batch is mostly one second's events,
 * so the text up to the second is kept from the previous call rather than formatted again.
 */
class TimeText {
  #second = NaN;
  #prefix = '';

  format(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      this.#second = second;
      // toISOString of a whole second ends in "000Z"; keep "...:SS.".
      this.#prefix = new Date(second * 1000).toISOString().slice(0, -4);
    }
    const fraction = ms - second * 1000;
    return `${this.#prefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
  }
}

/**
 * The batch as COPY text-format lines (tab-separated, `\n`-terminated, COPY_COLUMNS order), or
 * null when a row cannot be copied exactly (a `ts` outside [0, COPY_MAX_TS)): the batch then goes
 * the INSERT way. Rows are normalised (events.ts, hit-row.ts): integer `ts`, finite numbers, no
 * NUL in any text.
 */
export function encodeCopyRows(rows: readonly AuditRow[]): string | null {
  const time = new TimeText();
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!copiable(r)) return null;
    const own = `${copyText(r.requestId)}\t${time.format(r.ts)}\t${r.status}\t${r.totalMs}\t${r.responseBytes}\t`;
    lines[i] = r instanceof HitRow ? `${own}${r.route.copy}\t${r.caller.copy}\t${HIT_TAIL}` : own + eventColumns(r);
  }
  return lines.join('');
}

/** An event's columns after its own five. */
function eventColumns(e: AuditEvent): string {
  return (
    `${copyText(e.upstream)}\t${copyText(e.method)}\t${copyText(e.path)}\t${copyText(e.query)}\t${copyText(e.action)}\t` +
    `${copyText(e.resourceType)}\t${copyText(e.resourceId)}\t${copyText(e.sessionId)}\t${copyText(e.userIdentifier)}\t` +
    `${copyText(e.clientIp)}\t${copyText(e.userAgent)}\t${copyText(e.cacheOutcome)}\t${copyText(e.cacheTier)}\t` +
    `${e.upstreamMs ?? COPY_NULL}\t${e.requestBytes}\t${copyText(e.errorCode)}\n`
  );
}

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
  const first = Buffer.from(encodeCopyRows(events.slice(0, EVENTS_PER_TURN))!, 'utf8');
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
      if (!stream.destroyed) stream.write(Buffer.from(encodeCopyRows(events.slice(from, from + EVENTS_PER_TURN))!, 'utf8'));
    }
    if (!stream.destroyed) stream.end();
  } catch (err) {
    // Destroying the stream sends CopyFail: Postgres rolls the COPY back and frees the connection.
    stream.destroy(err as Error);
  }
  await settled;
  return stream.rowCount;
}
