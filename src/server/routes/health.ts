import type { FastifyInstance } from 'fastify';
import type { CompiledUpstream } from '../../proxy/upstreams.js';
import type { TierHealth } from '../../cache/guarded-tier.js';
import type { QuotaState } from '../../resilience/quota.js';

export interface HealthOptions {
  readonly upstreams: readonly CompiledUpstream[];
  readonly tierHealth: () => Record<string, TierHealth>;
  readonly isDraining: () => boolean;
  /** Audit trail state: ok, spooling (Postgres away, rows safe on disk) or failing (rows at risk). */
  readonly auditHealth: () => string | null;
  /** Database connection pool utilisation, when a database is open. */
  readonly databasePool: () => { total: number; idle: number; waiting: number; max: number } | null;
  /** Per-upstream breaker state, Retry-After pause, and concurrency limit, in-flight and queued calls. */
  readonly upstreamGuards?: () => ReadonlyMap<
    string,
    { breakerState: string; pausedForMs: number; limit: number; inFlight: number; queued: number; quota?: Pick<QuotaState, 'saving' | 'savingReason' | 'savingUntil'> }
  >;
  /** Change-feed subscriptions by feed: reported, never a reason to be unready. */
  readonly changeFeeds?: () => Readonly<Record<string, object>>;
}

/**
 * `/healthz`: the process is alive. `/readyz`: ready to take traffic, with per-upstream and
 * per-tier state. A tier that is down does not make it 503 (requests still go to the remaining
 * tiers and the upstream); only draining does. Nor does a change feed that is down: its state is reported.
 */
export async function healthRoutes(app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const draining = options.isDraining();
    const guards = options.upstreamGuards?.();
    const upstreams = Object.fromEntries(
      options.upstreams.map((u) => {
        const guard = guards?.get(u.name);
        const protection =
          guard === undefined
            ? {}
            : {
                circuit: guard.breakerState,
                pausedForMs: guard.pausedForMs,
                limit: guard.limit,
                inFlight: guard.inFlight,
                queued: guard.queued,
                // Reported, never a reason to be unready: the saver answers from the cache.
                quotaSaver: guard.quota?.saving === true ? { on: true, reason: guard.quota.savingReason, until: isoOrNull(guard.quota.savingUntil) } : { on: false },
              };
        return [u.name, { state: u.enabled ? 'enabled' : 'disabled', prefix: u.config.prefix, ...protection }];
      }),
    );
    const tiers = options.tierHealth();
    reply.code(draining ? 503 : 200);
    const audit = options.auditHealth();
    const pool = options.databasePool();
    const feeds = options.changeFeeds?.();
    return {
      status: draining ? 'draining' : 'ready',
      upstreams,
      tiers,
      ...(audit === null ? {} : { audit }),
      ...(pool === null ? {} : { databasePool: pool }),
      ...(feeds === undefined ? {} : { changeFeeds: feeds }),
    };
  });
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
