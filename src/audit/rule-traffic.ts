import type { SqlDatabase } from '../db/sql.js';
import { AuditQueryError, isoTime } from './query-input.js';

/**
 * Traffic per upstream and audit action over a window, for the admin upstreams view: one
 * GROUP BY bounded by `ts >= $1 AND ts < $2` (the primary key's range and partition pruning
 * serve it). The action is the rule's `action` template filled in, or the rule name.
 */
export interface ActionTraffic {
  upstream: string;
  action: string;
  requests: number;
  errors: number;
  /** HIT, STALE and REVALIDATED answers (the upstream sent no body). */
  hits: number;
  /** hits plus MISS: what the cache could have answered. */
  cacheable: number;
}

export const ACTION_TRAFFIC_QUERY = `SELECT upstream, action,
  count(*)::int8 AS requests,
  count(*) FILTER (WHERE status >= 500 OR error_code IS NOT NULL)::int8 AS errors,
  count(*) FILTER (WHERE cache_outcome IN ('HIT', 'STALE', 'REVALIDATED'))::int8 AS hits,
  count(*) FILTER (WHERE cache_outcome IN ('HIT', 'STALE', 'REVALIDATED', 'MISS'))::int8 AS cacheable
  FROM audit_logs WHERE ts >= $1::timestamptz AND ts < $2::timestamptz AND upstream IS NOT NULL
  GROUP BY upstream, action`;

interface Row {
  upstream: string;
  action: string;
  requests: string;
  errors: string;
  hits: string;
  cacheable: string;
}

/** Requests, errors and cache answers per (upstream, action) in `[from, to)`. */
export async function actionTraffic(db: SqlDatabase, window: { from: Date; to: Date }): Promise<ActionTraffic[]> {
  if (window.to.getTime() <= window.from.getTime()) throw new AuditQueryError('to', 'expected a time after from');
  const { rows } = await db.query<Row>(ACTION_TRAFFIC_QUERY, [isoTime(window.from, 'from'), isoTime(window.to, 'to')]);
  return rows.map((row) => ({
    upstream: row.upstream,
    action: row.action,
    requests: Number(row.requests),
    errors: Number(row.errors),
    hits: Number(row.hits),
    cacheable: Number(row.cacheable),
  }));
}
