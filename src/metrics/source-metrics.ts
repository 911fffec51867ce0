import { Counter, Gauge, type Registry } from 'prom-client';
import type { QuotaState } from '../resilience/quota.js';
import { registerQuotaMetrics } from './quota-metrics.js';

/** A tier as the metrics see it at scrape time; counts are totals since start. */
export interface TierReading {
  readonly tier: string;
  readonly up: boolean;
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
  /** Look-ups not attempted (breaker open, tier not ready). */
  readonly skipped: number;
  /** Null when the tier's size is not known yet. */
  readonly entries: number | null;
  readonly bytes: number | null;
}

export interface AuditReading {
  readonly written: number;
  readonly spooled: number;
  readonly replayed: number;
  readonly dropped: number;
  /** Events waiting: in memory plus in the spool. */
  readonly queueDepth: number;
}

/** Where scrape-time values come from; each is cheap and synchronous (no I/O on a scrape). */
export interface MetricSources {
  readonly tiers?: () => readonly TierReading[];
  readonly invalidations?: () => Readonly<Record<string, number>>;
  readonly audit?: () => AuditReading | null;
  readonly pgPool?: () => { total: number; idle: number; waiting: number; max: number } | null;
  readonly upstreamGuards?: () => ReadonlyMap<string, UpstreamGuardReading>;
  /** Sealed entries that did not open, as [tier, reason, count]. */
  readonly unopenable?: () => ReadonlyArray<readonly [string, string, number]>;
}

/** An upstream's protection state at scrape time. */
export interface UpstreamGuardReading {
  readonly breakerState: 'closed' | 'open' | 'half_open';
  readonly breakerOpens: number;
  /** The adaptive concurrency limit now. */
  readonly limit: number;
  /** Calls holding a concurrency slot (until their body is done). */
  readonly inFlight: number;
  readonly queued: number;
  readonly rejected: number;
  readonly pausedForMs: number;
  readonly quota: QuotaState;
}

/** Metrics whose values live elsewhere (tiers, invalidator, audit writer, pool): read per scrape. */
export function registerSourceMetrics(registry: Registry, sources: MetricSources): void {
  const registers = [registry];
  const tiers = sources.tiers ?? (() => []);

  new Counter({
    name: 'sidecache_cache_lookups_total',
    help: 'Cache look-ups per tier and result (hit, miss, error, skipped while the tier was unavailable).',
    labelNames: ['tier', 'result'],
    registers,
    collect() {
      this.reset();
      for (const t of tiers()) {
        this.inc({ tier: t.tier, result: 'hit' }, t.hits);
        this.inc({ tier: t.tier, result: 'miss' }, t.misses);
        this.inc({ tier: t.tier, result: 'error' }, t.errors);
        this.inc({ tier: t.tier, result: 'skipped' }, t.skipped);
      }
    },
  });
  new Gauge({
    name: 'sidecache_cache_entries',
    help: 'Entries held per tier (shared tiers: sampled in the background, at most a minute old).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const t of tiers()) if (t.entries !== null) this.set({ tier: t.tier }, t.entries);
    },
  });
  new Gauge({
    name: 'sidecache_cache_bytes',
    help: 'Bytes held per tier (shared tiers: sampled in the background, Redis estimated from a sample).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const t of tiers()) if (t.bytes !== null) this.set({ tier: t.tier }, t.bytes);
    },
  });
  new Gauge({
    name: 'sidecache_tier_up',
    help: '1 while the tier answers (up or degraded), 0 while its breaker keeps it out.',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const t of tiers()) this.set({ tier: t.tier }, t.up ? 1 : 0);
    },
  });
  new Counter({
    name: 'sidecache_tier_errors_total',
    help: 'Failed or timed-out tier operations.',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const t of tiers()) this.inc({ tier: t.tier }, t.errors);
    },
  });

  const invalidations = sources.invalidations;
  new Counter({
    name: 'sidecache_invalidations_total',
    help: 'Invalidations applied on this instance, by source (write-triggered, admin, or a change-feed hook).',
    labelNames: ['source'],
    registers,
    collect() {
      if (invalidations === undefined) return;
      this.reset();
      for (const [source, count] of Object.entries(invalidations())) this.inc({ source }, count);
    },
  });

  const audit = sources.audit;
  new Counter({
    name: 'sidecache_audit_events_total',
    help: 'Audit events by outcome: written directly, spooled to disk, replayed from the spool, dropped.',
    labelNames: ['outcome'],
    registers,
    collect() {
      const reading = audit?.();
      if (reading === undefined || reading === null) return;
      this.reset();
      this.inc({ outcome: 'written' }, reading.written);
      this.inc({ outcome: 'spooled' }, reading.spooled);
      this.inc({ outcome: 'replayed' }, reading.replayed);
      this.inc({ outcome: 'dropped' }, reading.dropped);
    },
  });
  new Gauge({
    name: 'sidecache_audit_queue_depth',
    help: 'Audit events not yet in Postgres: buffered in memory plus waiting in the spool.',
    registers,
    collect() {
      const reading = audit?.();
      if (reading !== undefined && reading !== null) this.set(reading.queueDepth);
    },
  });

  const guards = sources.upstreamGuards;
  new Gauge({
    name: 'sidecache_upstream_circuit_state',
    help: "Upstream breaker state: 0 closed, 1 half-open, 2 open (calls go to stale data or fail fast).",
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [upstream, g] of guards?.() ?? []) this.set({ upstream }, g.breakerState === 'open' ? 2 : g.breakerState === 'half_open' ? 1 : 0);
    },
  });
  new Counter({
    name: 'sidecache_upstream_circuit_opens_total',
    help: 'Times the upstream breaker opened.',
    labelNames: ['upstream'],
    registers,
    collect() {
      this.reset();
      for (const [upstream, g] of guards?.() ?? []) this.inc({ upstream }, g.breakerOpens);
    },
  });
  new Gauge({
    name: 'sidecache_upstream_concurrency_limit',
    help: 'Upstream calls that may be in flight now: the adaptive limit, grown while latency holds, cut when it rises or calls fail.',
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [upstream, g] of guards?.() ?? []) this.set({ upstream }, g.limit);
    },
  });
  new Gauge({
    name: 'sidecache_upstream_queued_requests',
    help: 'Requests waiting for an upstream concurrency slot.',
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [upstream, g] of guards?.() ?? []) this.set({ upstream }, g.queued);
    },
  });
  new Counter({
    name: 'sidecache_upstream_saturated_total',
    help: 'Upstream calls refused a concurrency slot (queue full, queue timeout, or no slot for a caller with stale data).',
    labelNames: ['upstream'],
    registers,
    collect() {
      this.reset();
      for (const [upstream, g] of guards?.() ?? []) this.inc({ upstream }, g.rejected);
    },
  });
  new Gauge({
    name: 'sidecache_upstream_paused_seconds',
    help: 'Remaining pause the upstream asked for (429 / Retry-After); 0 when none.',
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [upstream, g] of guards?.() ?? []) this.set({ upstream }, g.pausedForMs / 1000);
    },
  });

  registerQuotaMetrics(registry, () => new Map([...(guards?.() ?? [])].map(([upstream, g]) => [upstream, g.quota])));

  const unopenable = sources.unopenable;
  new Counter({
    name: 'sidecache_cache_unopenable_total',
    help: 'Stored entries that did not open and were treated as misses, by tier and reason (unauthentic, unknown-key, malformed, sealed-without-key).',
    labelNames: ['tier', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const [tier, reason, count] of unopenable?.() ?? []) this.inc({ tier, reason }, count);
    },
  });

  const pgPool = sources.pgPool;
  new Gauge({
    name: 'sidecache_pg_pool_connections',
    help: 'Database pool connections by state (total open, idle, waiting clients, and max: the pool size).',
    labelNames: ['state'],
    registers,
    collect() {
      const pool = pgPool?.();
      if (pool === undefined || pool === null) return;
      this.set({ state: 'total' }, pool.total);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'waiting' }, pool.waiting);
      this.set({ state: 'max' }, pool.max);
    },
  });
}
