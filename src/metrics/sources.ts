import type { AuditWriter } from '../audit/writer.js';
import type { CacheStorage } from '../cache/open-stack.js';
import type { SqlDatabase } from '../db/sql.js';
import type { Invalidator } from '../invalidation/invalidator.js';
import type { UpstreamGuard } from '../resilience/upstream-guard.js';
import type { MetricSources, TierReading, UpstreamGuardReading } from './source-metrics.js';
import { TierSizeSampler } from './tier-sizes.js';

/** How often the shared tiers' sizes are sampled for `cache_entries` / `cache_bytes`. */
const TIER_SIZE_INTERVAL_MS = 30_000;

/** Reads the running parts of an instance for the metrics; `close()` stops the size sampler. */
export function metricSources(parts: {
  storage: CacheStorage;
  invalidator: Invalidator;
  audit: AuditWriter | null;
  db: SqlDatabase | null;
}): MetricSources & { tiers: () => readonly TierReading[]; close(): void } {
  const { storage, invalidator, audit, db } = parts;
  const lower = [storage.redis, storage.postgres].filter((tier) => tier !== null);
  const sampler = new TierSizeSampler(lower, TIER_SIZE_INTERVAL_MS);
  return {
    tiers: () => {
      const readings: TierReading[] = [];
      if (storage.memory !== null) {
        const { hits, misses } = storage.stack.memoryLookups;
        const { entries, bytes } = storage.memory.size();
        readings.push({ tier: 'memory', up: true, hits, misses, errors: 0, skipped: 0, entries, bytes });
      }
      for (const tier of lower) {
        const { hits, misses, errors, skipped } = tier.counters;
        const size = sampler.latest(tier.name);
        readings.push({
          tier: tier.name,
          up: tier.health() !== 'down',
          hits,
          misses,
          errors,
          skipped,
          entries: size?.entries ?? null,
          bytes: size?.bytes ?? null,
        });
      }
      return readings;
    },
    invalidations: () => invalidator.counts,
    audit:
      audit === null
        ? undefined
        : () => {
            const stats = audit.stats();
            return {
              written: stats.written,
              spooled: stats.spooled,
              replayed: stats.replayed,
              dropped: stats.dropped,
              queueDepth: stats.buffered + stats.spoolPendingRows,
            };
          },
    pgPool: db === null ? undefined : () => db.poolStats(),
    unopenable: () => storage.sealFailures.counts(),
    close: () => sampler.close(),
  };
}

/** Each upstream guard's state, as the metrics and `/readyz` report it. */
export function guardReadings(guards: ReadonlyMap<string, UpstreamGuard>): Map<string, UpstreamGuardReading> {
  const readings = new Map<string, UpstreamGuardReading>();
  for (const [upstream, guard] of guards) {
    const stats = guard.stats();
    readings.set(upstream, {
      breakerState: stats.breaker.state,
      breakerOpens: stats.breaker.opens,
      limit: stats.concurrency.limit,
      inFlight: stats.concurrency.inFlight,
      queued: stats.concurrency.queued,
      rejected: stats.concurrency.rejected,
      pausedForMs: stats.pausedForMs,
      quota: guard.quota.state(),
    });
  }
  return readings;
}
