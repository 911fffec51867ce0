import type { SqlDatabase } from '../db/sql.js';
import { AuditQueryError, isoTime, type CacheFilter } from './query-input.js';

/**
 * The admin audit report for a time window: one statement per facet, all read from one snapshot.
 * Every statement is bounded by `ts >= $1 AND ts < $2`, which the primary key (ts, request_id)
 * and partition pruning serve.
 */

export interface LatencySummary {
  totalP50: number | null;
  totalP95: number | null;
  upstreamP50: number | null;
  upstreamP95: number | null;
}

export interface FacetCount {
  requests: number;
  errors: number;
}

export interface Report {
  from: string;
  to: string;
  totalRequests: number;
  /** Status >= 500 or an error code. */
  errorCount: number;
  /** (HIT + STALE + REVALIDATED) / (those + MISS): a revalidation costs the upstream no body. Null when nothing cacheable happened. */
  hitRatio: number | null;
  latency: LatencySummary;
  /** UTC dates with at least one request, oldest first. */
  byDay: Array<{ day: string } & FacetCount>;
  /** Busiest first; `upstream` is null for requests that matched no upstream. */
  byUpstream: Array<{ upstream: string | null; hitRatio: number | null; latency: LatencySummary } & FacetCount>;
  byAction: Array<{ action: string | null } & FacetCount>;
  byCacheOutcome: Record<CacheFilter, number>;
  /** The busiest users (at most TOP_N); `user` is null for requests without a user identifier. */
  byUser: Array<{ user: string | null } & FacetCount>;
  /** The most requested resources with a type (at most TOP_N), busiest first. */
  topResources: Array<{ resourceType: string; resourceId: string | null } & FacetCount>;
}

/** How many users and resources the report lists. */
export const TOP_N = 20;

const WINDOW = 'ts >= $1::timestamptz AND ts < $2::timestamptz';
const COUNTS = `count(*)::int8 AS requests, count(*) FILTER (WHERE status >= 500 OR error_code IS NOT NULL)::int8 AS errors`;
const RATIO = `count(*) FILTER (WHERE cache_outcome IN ('HIT', 'STALE', 'REVALIDATED'))::int8 AS hits,
  count(*) FILTER (WHERE cache_outcome IN ('HIT', 'STALE', 'REVALIDATED', 'MISS'))::int8 AS cacheable`;
const LATENCY = `percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms) AS total_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms) AS total_p95,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY upstream_ms) AS upstream_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY upstream_ms) AS upstream_p95`;

/** The report's statements, one per facet; each takes `[from, to]` and stays within `ts >= $1 AND ts < $2`. */
export const REPORT_QUERIES = {
  totals: `SELECT ${COUNTS}, ${RATIO}, ${LATENCY} FROM audit_logs WHERE ${WINDOW}`,
  byDay: `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${COUNTS} FROM audit_logs WHERE ${WINDOW} GROUP BY 1 ORDER BY 1`,
  byUpstream: `SELECT upstream, ${COUNTS}, ${RATIO}, ${LATENCY} FROM audit_logs WHERE ${WINDOW}
    GROUP BY upstream ORDER BY count(*) DESC, upstream NULLS LAST`,
  byAction: `SELECT action, ${COUNTS} FROM audit_logs WHERE ${WINDOW} GROUP BY action ORDER BY count(*) DESC, action NULLS LAST`,
  byCacheOutcome: `SELECT cache_outcome, count(*)::int8 AS requests FROM audit_logs WHERE ${WINDOW} GROUP BY cache_outcome`,
  byUser: `SELECT user_identifier, ${COUNTS} FROM audit_logs WHERE ${WINDOW}
    GROUP BY user_identifier ORDER BY count(*) DESC, user_identifier NULLS LAST LIMIT ${TOP_N}`,
  topResources: `SELECT resource_type, resource_id, ${COUNTS} FROM audit_logs WHERE ${WINDOW} AND resource_type IS NOT NULL
    GROUP BY resource_type, resource_id ORDER BY count(*) DESC, resource_type, resource_id NULLS LAST LIMIT ${TOP_N}`,
} as const;

interface CountsRow {
  requests: string;
  errors: string;
}
interface RatioRow {
  hits: string;
  cacheable: string;
}
interface LatencyRow {
  total_p50: number | null;
  total_p95: number | null;
  upstream_p50: number | null;
  upstream_p95: number | null;
}

/** The activity report for `[from, to)`. All facets are read from one snapshot, so they agree with each other. */
export async function auditReport(db: SqlDatabase, window: { from: Date; to: Date }): Promise<Report> {
  const params = [isoTime(window.from, 'from'), isoTime(window.to, 'to')];
  if (window.to.getTime() <= window.from.getTime()) throw new AuditQueryError('to', 'expected a time after from');
  return db.withClient(async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const run = async <R>(text: string) => (await client.query<R>(text, params)).rows;
    const totals = (await run<CountsRow & RatioRow & LatencyRow>(REPORT_QUERIES.totals))[0];
    const days = await run<CountsRow & { day: string }>(REPORT_QUERIES.byDay);
    const upstreams = await run<CountsRow & RatioRow & LatencyRow & { upstream: string | null }>(REPORT_QUERIES.byUpstream);
    const actions = await run<CountsRow & { action: string | null }>(REPORT_QUERIES.byAction);
    const outcomes = await run<{ cache_outcome: string | null; requests: string }>(REPORT_QUERIES.byCacheOutcome);
    const users = await run<CountsRow & { user_identifier: string | null }>(REPORT_QUERIES.byUser);
    const resources = await run<CountsRow & { resource_type: string; resource_id: string | null }>(REPORT_QUERIES.topResources);
    await client.query('COMMIT');

    const byCacheOutcome: Record<CacheFilter, number> = { HIT: 0, MISS: 0, STALE: 0, REVALIDATED: 0, BYPASS: 0, NONE: 0 };
    // audit_logs has a CHECK on cache_outcome, so these five keys are all there is.
    for (const row of outcomes) byCacheOutcome[(row.cache_outcome ?? 'NONE') as CacheFilter] += Number(row.requests);
    return {
      from: params[0]!,
      to: params[1]!,
      totalRequests: Number(totals?.requests ?? 0),
      errorCount: Number(totals?.errors ?? 0),
      hitRatio: totals === undefined ? null : hitRatio(totals),
      latency: totals === undefined ? { totalP50: null, totalP95: null, upstreamP50: null, upstreamP95: null } : latency(totals),
      byDay: days.map((row) => ({ day: row.day, ...counts(row) })),
      byUpstream: upstreams.map((row) => ({ upstream: row.upstream, ...counts(row), hitRatio: hitRatio(row), latency: latency(row) })),
      byAction: actions.map((row) => ({ action: row.action, ...counts(row) })),
      byCacheOutcome,
      byUser: users.map((row) => ({ user: row.user_identifier, ...counts(row) })),
      topResources: resources.map((row) => ({ resourceType: row.resource_type, resourceId: row.resource_id, ...counts(row) })),
    };
  });
}

function counts(row: CountsRow): FacetCount {
  return { requests: Number(row.requests), errors: Number(row.errors) };
}

function hitRatio(row: RatioRow): number | null {
  const cacheable = Number(row.cacheable);
  return cacheable === 0 ? null : Number(row.hits) / cacheable;
}

function latency(row: LatencyRow): LatencySummary {
  return { totalP50: row.total_p50, totalP95: row.total_p95, upstreamP50: row.upstream_p50, upstreamP95: row.upstream_p95 };
}
