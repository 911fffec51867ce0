import type { FastifyInstance } from 'fastify';
import type { AuditWriterStats } from '../audit/writer.js';
import type { GuardedTier } from '../cache/guarded-tier.js';
import type { SidecacheMetrics } from '../metrics/metrics.js';
import type { TierReading } from '../metrics/source-metrics.js';
import type { UpstreamSummary } from '../metrics/metrics.js';
import type { QuotaState } from '../resilience/quota.js';

/** What `GET /admin/stats` reads; all in memory, so the route never waits on Redis or Postgres. */
export interface StatsSources {
  readonly metrics: SidecacheMetrics;
  /** The same per-tier readings `/metrics` serves: counts, and sizes (shared tiers sampled in the background). */
  readonly tiers: () => readonly TierReading[];
  /** The shared tiers, for what only their guards know: timeouts, health, breaker, write queue. */
  readonly guarded: readonly (GuardedTier | null)[];
  readonly invalidations: () => Readonly<Record<string, number>>;
  readonly audit: () => AuditWriterStats | null;
  readonly startedAt: number;
  readonly version: string;
  readonly configDigest: string;
  readonly now?: () => number;
  /** Each upstream's quota: last reported usage, quota-saver mode, calls saved (in total and today, UTC). */
  readonly quotas?: () => ReadonlyMap<string, QuotaState>;
}

interface TierStatsBody {
  hits: number;
  misses: number;
  hitRatio: number | null;
  entries: number | null;
  bytes: number | null;
  errors: number;
  timeouts: number;
  skipped: number;
  health: string;
  breaker: string;
  writeQueue?: { depth: number; written: number; dropped: number; failed: number };
}

/** `GET /admin/stats`: one JSON document of per-tier and per-upstream figures since start. */
export async function statsRoutes(app: FastifyInstance, sources: StatsSources): Promise<void> {
  const schema = {
    summary: 'Per-tier and per-upstream figures since start',
    tags: ['stats'],
    querystring: { type: 'object', additionalProperties: false, properties: {} },
  };
  app.get('/stats', { schema }, async () => {
    const now = sources.now ?? Date.now;
    const summaries = await sources.metrics.upstreamSummaries();
    const upstreams: Record<string, object> = Object.fromEntries(summaries);
    for (const [name, quota] of sources.quotas?.() ?? []) upstreams[name] = { ...(summaries.get(name) ?? emptySummary()), quota: quotaStats(quota) };
    let coalesced = 0;
    const staleServed: Record<string, number> = {};
    for (const summary of summaries.values()) {
      coalesced += summary.coalesced;
      for (const [reason, count] of Object.entries(summary.staleServed)) staleServed[reason] = (staleServed[reason] ?? 0) + count;
    }
    const audit = sources.audit();
    return {
      uptimeSeconds: Math.round((now() - sources.startedAt) / 1000),
      version: sources.version,
      configDigest: sources.configDigest,
      tiers: tierStats(sources),
      upstreams,
      coalescedRequests: coalesced,
      staleServed,
      invalidations: sources.invalidations(),
      audit:
        audit === null
          ? null
          : {
              buffered: audit.buffered,
              spoolPendingRows: audit.spoolPendingRows,
              written: audit.written,
              spooled: audit.spooled,
              replayed: audit.replayed,
              dropped: audit.dropped,
              spoolFailing: audit.spoolFailing,
            },
    };
  });
}

function tierStats(sources: StatsSources): Record<string, TierStatsBody> {
  const guards = new Map(sources.guarded.filter((tier) => tier !== null).map((tier) => [tier.name, tier]));
  const out: Record<string, TierStatsBody> = {};
  for (const { tier, hits, misses, errors, skipped, entries, bytes } of sources.tiers()) {
    const guard = guards.get(tier as GuardedTier['name']);
    out[tier] = { hits, misses, hitRatio: ratio(hits, misses), entries, bytes, errors, skipped, timeouts: 0, health: 'up', breaker: 'none' };
    if (guard !== undefined) {
      Object.assign(out[tier], { timeouts: guard.counters.timeouts, health: guard.health(), breaker: guard.breakerState, writeQueue: { ...guard.queueStats() } });
    }
  }
  return out;
}

/** What an upstream that has had no traffic yet reports: the same fields, all zero. */
function emptySummary(): UpstreamSummary {
  return { requests: 0, errors: 0, inFlight: 0, upstreamLatencyMs: { p50: null, p95: null }, coalesced: 0, staleServed: {} };
}

function quotaStats(q: QuotaState) {
  const last = q.last;
  return {
    callsSaved: q.callsSaved,
    callsSavedToday: q.callsSavedToday,
    lastReported:
      last === null
        ? null
        : {
            used: last.used,
            limit: last.limit,
            usedRatio: last.used !== null && last.limit !== null ? Math.round((last.used / last.limit) * 1e4) / 1e4 : null,
            nearLimit: last.nearLimit,
            resetAt: last.resetAt === null ? null : new Date(last.resetAt).toISOString(),
            at: new Date(last.reportedAt).toISOString(),
          },
    retryAfterSeconds: q.retryAfterSeconds,
    nearLimit: q.nearLimit,
    saver: { on: q.saving, reason: q.savingReason, until: q.savingUntil === null ? null : new Date(q.savingUntil).toISOString() },
    malformedFields: q.malformed,
  };
}

function ratio(hits: number, misses: number): number | null {
  return hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1e4) / 1e4;
}
