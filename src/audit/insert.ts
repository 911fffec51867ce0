import type { SqlClient } from '../db/sql.js';
import type { AuditEvent } from './events.js';

/**
 * `INSERT … SELECT FROM unnest(…) ON CONFLICT (request_id, ts) DO NOTHING`: the write that may be
 * repeated. Spool replays, retries and every write on PGlite go this way, because a row that is
 * already in the table is skipped rather than failing the batch (copy.ts is the cheaper write for
 * batches never attempted before).
 */

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
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * An error Postgres itself answered with (an ErrorResponse: a severity and a SQLSTATE), as opposed
 * to a connection that failed or a wait given up on, whose statement may still be running.
 */
export function isServerError(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
}
