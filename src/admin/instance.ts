import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Sidecache } from '../app.js';
import { configDigest } from '../config/digest.js';
import type { Config } from '../config/types.js';
import { metricsRoute } from '../metrics/route.js';
import { healthRoutes } from '../server/routes/health.js';
import { VERSION } from '../version.js';
import { buildAdminApp } from './server.js';
import { privacyRoutes } from './privacy-routes.js';
import { statsRoutes } from './stats-routes.js';

/**
 * The admin listener of a running instance: every `/admin/*` route behind the token, and
 * `/healthz`, `/readyz` and `/metrics` without one (probes and scrapers rarely carry tokens).
 */
export function buildInstanceAdminApp(
  sidecache: Sidecache,
  config: Config,
  options: { logger?: FastifyServerOptions['logger']; shareLogger?: boolean; consoleDir?: string | null } = {},
): FastifyInstance {
  const { app, storage } = sidecache;
  const digest = configDigest(config);
  return buildAdminApp({
    db: sidecache.database?.db ?? null,
    token: config.admin.token,
    invalidation: { invalidator: sidecache.invalidator, upstreams: config.upstreams },
    // Cache listing/inspection and warming (through the proxy app's own read path).
    cache: storage,
    warm: { proxy: app, upstreams: config.upstreams, saving: (upstream: string) => sidecache.quotas.get(upstream)?.saving === true },
    upstreams: config.upstreams,
    ...(options.shareLogger === false ? { logger: options.logger ?? false } : { loggerInstance: app.log }),
    requestIdHeader: config.server.requestIdHeader,
    ...(options.consoleDir === undefined ? {} : { consoleDir: options.consoleDir }),
    redactQueryParams: config.redactQueryParams,
    adminRoutes: async (admin) => {
      await admin.register(statsRoutes, {
        metrics: sidecache.metrics,
        tiers: sidecache.tierReadings,
        guarded: [storage.redis, storage.postgres],
        invalidations: () => sidecache.invalidator.counts,
        audit: () => sidecache.audit?.stats() ?? null,
        startedAt: sidecache.startedAt,
        version: VERSION,
        configDigest: digest,
        quotas: () => new Map([...sidecache.quotas].map(([name, quota]) => [name, quota.state()])),
      });
      await admin.register(privacyRoutes, { db: sidecache.database?.db ?? null, secret: sidecache.keySecret.current, audit: sidecache.audit });
    },
    extraRoutes: (adminApp) => {
      void adminApp.register(healthRoutes, sidecache.health);
      void adminApp.register(metricsRoute, { metrics: sidecache.metrics });
    },
  });
}
