import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config/types.js';
import { longestLifetimeMs } from './boot/epoch-horizon.js';
import { openFillLeases, openRedis } from './boot/redis.js';
import { foreignInstanceLogger, logSaverChange } from './boot/upstream-logs.js';
import { openKeySecret, type KeySecret } from './cache/key-secret.js';
import { openCacheStorage, type CacheStorage } from './cache/open-stack.js';
import { openManagedDatabase, type ManagedDatabase } from './db/lifecycle.js';
import { AuditWriter } from './audit/writer.js';
import { identityHeadersToStrip } from './sessions/identity.js';
import { SessionStore } from './sessions/sessions.js';
import { EpochTable } from './invalidation/epochs.js';
import { openInvalidationBus } from './invalidation/bus.js';
import { Invalidator } from './invalidation/invalidator.js';
import { CallerLimits } from './proxy/caller-limits.js';
import { Forwarder } from './proxy/forwarder.js';
import { createProxyHandler } from './proxy/handler.js';
import { CacheFiller, type Fetched } from './proxy/cache-fill.js';
import { ReadThrough } from './proxy/read-through.js';
import type { RefreshAhead } from './proxy/refresh-ahead.js';
import { SingleFlight } from './proxy/single-flight.js';
import { UpstreamRouter } from './proxy/upstreams.js';
import type { Clock } from './resilience/clock.js';
import type { UpstreamQuota } from './resilience/quota.js';
import { upstreamGuards } from './resilience/upstream-guard.js';
import { listenerOptions } from './server/listener-options.js';
import { processLogger } from './server/logger.js';
import { errorHandler, frameworkErrorHandler } from './server/plugins/error-handler.js';
import { requestContext } from './server/plugins/request-context.js';
import { requestCompletion } from './server/completion.js';
import { createHitLane, type HitLane } from './server/hit-lane.js';
import { hitLaneServerFactory } from './server/listener.js';
import { clientErrorHandler } from './server/client-errors.js';
import { requestIdGenerator } from './server/request-id.js';
import { healthRoutes, type HealthOptions } from './server/routes/health.js';
import { SidecacheMetrics } from './metrics/metrics.js';
import type { TierReading } from './metrics/source-metrics.js';
import { guardReadings, metricSources } from './metrics/sources.js';
import { proxyRoutes } from './server/routes/proxy.js';
import { DeliveryDedupe } from './hooks/dedupe.js';
import { hookRoutes } from './hooks/routes.js';
import { feedHealth, salesforcePubSubFeed } from './hooks/pubsub/feed.js';
import type { PubSubSubscriber } from './hooks/pubsub/subscriber.js';

/** The running pieces of one sidecache instance, for the entry point, admin and tests. */
export interface Sidecache {
  readonly app: FastifyInstance;
  readonly storage: CacheStorage;
  /** The secret credentials are hashed under (configured, or persisted in the database). */
  readonly keySecret: KeySecret;
  readonly stack: CacheStorage['stack'];
  readonly flights: SingleFlight<Fetched>;
  readonly router: UpstreamRouter;
  readonly database: ManagedDatabase | null;
  readonly sessions: SessionStore;
  readonly audit: AuditWriter | null;
  readonly invalidator: Invalidator;
  readonly metrics: SidecacheMetrics;
  /** The Pub/Sub API change-feed subscriber, when `hooks.salesforcePubSub` is set. */
  readonly changeFeed: PubSubSubscriber | null;
  readonly refreshAhead: RefreshAhead;
  /** Each enabled upstream's quota owner (its guard's): reported usage, quota-saver mode, calls saved. */
  readonly quotas: ReadonlyMap<string, UpstreamQuota>;
  /** Answers fresh memory hits before Fastify (server/hit-lane.ts). */
  readonly hitLane: HitLane;
  /** Each tier's look-up counts and size, as the metrics read them (shared tiers' sizes sampled in the background). */
  readonly tierReadings: () => readonly TierReading[];
  /** What `/readyz` reports, for the admin listener's copy of it. */
  readonly health: HealthOptions;
  /** Epoch ms the instance was built. */
  readonly startedAt: number;
  /** Marks the instance as draining: `/readyz` turns 503 and responses ask clients to reconnect elsewhere. */
  startDraining(): void;
}

export interface BuildOptions {
  /** pino options or a ready logger; defaults to the config's log level. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Clock for freshness decisions (tests). */
  readonly now?: () => number;
  /** Clock of the upstream guards: breaker windows, pauses, the quota window (tests pass a fake one). */
  readonly clock?: Clock;
  /** prom-client's process metrics (CPU, memory, event loop, GC); default on. */
  readonly processMetrics?: boolean;
}

/** How often hot entries of refresh-ahead rules are checked against their lead window. */
const REFRESH_AHEAD_TICK_MS = 1_000;

/**
 * Builds one instance without listening (tests `inject()` or listen on port 0), in boot order:
 * the logger; shared infrastructure (the database, the one Redis connection and its breaker, the
 * key secret, the invalidation bus on that connection); cache storage and fill leases over them;
 * invalidation; sessions and audit; upstream guards
 * and metrics; the router and the Pub/Sub change feed; the proxy pipeline; then the listener,
 * its hit lane and its routes. Each step takes what the steps
 * before it returned.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<Sidecache> {
  const now = options.now ?? Date.now;
  const log = processLogger(config.server.logLevel, options.logger);
  let draining = false;
  const isDraining = () => draining;
  const redactQueryParams = new Set(config.redactQueryParams);

  // Shared infrastructure. The database serves the Postgres tier, audit, sessions and the change feed's replay id.
  const needsDatabase = config.cache.postgres.enabled || config.audit.enabled || config.hooks.salesforcePubSub !== null;
  const database = needsDatabase ? await openManagedDatabase(config.database, log) : null;
  const redis = config.cache.redis.url === null ? null : openRedis(config.cache.redis.url, config, log, now);
  const keySecret = await openKeySecret(config.cache.keySecret, database, log);
  const bus = redis === null ? null : await openInvalidationBus(redis, { namespace: config.cache.namespace, instanceId: randomUUID(), log });
  const epochs = new EpochTable();
  const storage = openCacheStorage(config, { log, now, database, redis, bus, isCurrent: (entry) => epochs.isCurrent(entry) });
  const { stack } = storage;
  const fillLeases = redis === null ? null : openFillLeases(redis, bus, config);

  // Invalidation: epochs loaded now, again once a late database is ready, and pruned as they age.
  const invalidator = new Invalidator({ epochs, stack, bus, database, now, log });
  const epochHorizonMs = longestLifetimeMs(config) + 60_000;
  await invalidator.load(now() - epochHorizonMs).catch((err: Error) => log.warn({ err: err.message }, 'could not load invalidation epochs'));
  void database?.whenReady.then(() => invalidator.load(now() - epochHorizonMs)).catch(() => undefined);
  const epochPruning = setInterval(() => void invalidator.prune(now() - epochHorizonMs).catch(() => undefined), 600_000);
  epochPruning.unref();

  // Sessions and the audit trail.
  const sessions = new SessionStore({ db: database?.db ?? null, secret: keySecret.current(), config: config.sessions, now, log: (obj, msg) => log.warn(obj, msg) });
  sessions.start();
  keySecret.onChange((secret) => sessions.setSecret(secret));
  const audit = config.audit.enabled ? new AuditWriter({ db: database?.db ?? null, config: config.audit, log, now, dbReady: database?.ready }) : null;
  await audit?.start();
  const accepting = () => audit?.accepting() ?? true;

  // Upstream guards, and the metrics that read them and everything above.
  const guards = upstreamGuards(config.upstreams, {
    onBreakerStateChange: (upstream, change) => log.warn({ upstream, from: change.from, to: change.to }, `upstream "${upstream}" circuit ${change.to}`),
    onSaverChange: (upstream, change) => logSaverChange(log, upstream, change),
    onQuotaMalformed: (upstream, field) =>
      log.warn({ upstream, field }, `upstream "${upstream}" sent a malformed ${field} field: ignored (counted in /admin/stats; logged once)`),
    ...(options.clock !== undefined && { clock: options.clock }),
  });
  const saving = (upstream: string): boolean => guards.get(upstream)?.quota.saving === true;
  const sources = metricSources({ storage, invalidator, audit, db: database?.db ?? null });
  const metrics = new SidecacheMetrics({ ...sources, upstreamGuards: () => guardReadings(guards) }, { processMetrics: options.processMetrics ?? true });

  // Where requests go: the configured upstreams, their prefixes and rules.
  const router = new UpstreamRouter(config.upstreams, identityHeadersToStrip(config.sessions));
  for (const upstream of router.upstreams) {
    if (!upstream.enabled) log.warn({ upstream: upstream.name }, `upstream "${upstream.name}" is disabled: no target URL configured`);
  }

  // Changes made in Salesforce, over the Pub/Sub API: one instance subscribes, all invalidate (via
  // epochs and the bus). Started once the listener is built.
  const deliveries = new DeliveryDedupe({ redis, namespace: config.cache.namespace, timeoutMs: config.cache.redis.readTimeoutMs });
  const changeFeed =
    config.hooks.salesforcePubSub !== null && database !== null
      ? salesforcePubSubFeed({
          config: config.hooks.salesforcePubSub,
          upstreams: router.upstreams,
          database,
          invalidator,
          dedupe: deliveries,
          audit,
          accepting,
          events: metrics,
          log,
          now,
        })
      : null;
  if (changeFeed !== null) metrics.observeChangeFeeds(() => [changeFeed.reading()]);

  // The proxy pipeline: read through (tiers, single flight, fill) → forward.
  const forwarder = new Forwarder(config.upstreams, guards, metrics);
  const flights = new SingleFlight<Fetched>();
  const readThrough = new ReadThrough({
    stack,
    forwarder,
    filler: new CacheFiller({ stack, forwarder, redactQueryParams, now, leases: fillLeases, keySecret: keySecret.current }),
    flights,
    keySecret: keySecret.current,
    server: config.server,
    now,
    onHit: storage.countHit,
    events: metrics,
    refreshAhead: { config: config.cache.refreshAhead, intervalMs: REFRESH_AHEAD_TICK_MS },
    saving,
  });
  const callerLimits = new CallerLimits({ upstreams: config.upstreams, redis, namespace: config.cache.namespace, log });
  const sessionDeps = { config: config.sessions, store: sessions };
  const onForeignInstance = foreignInstanceLogger(log);
  const handler = createProxyHandler({ router, forwarder, readThrough, server: config.server, sessions: sessionDeps, accepting, invalidator, callerLimits, onForeignInstance });

  // Every request's one audit row, metrics and log line; then the lane that answers fresh memory hits.
  const complete = requestCompletion({ audit, events: metrics, log, redactQueryParams, callSaved: (upstream) => guards.get(upstream)?.quota.noteSaved() });
  const requestId = requestIdGenerator(config.server.requestIdHeader);
  const hitLane = createHitLane({
    router,
    stack,
    readThrough,
    sessions: sessionDeps,
    callerLimits,
    keySecret: keySecret.current,
    now,
    accepting,
    isDraining,
    requestId,
    trustsForwardedFor: config.audit.trustedProxies.length > 0,
    redactQueryParams,
    directWrites: config.server.directHitWrites,
    batchWrites: config.server.batchHitWrites,
    complete,
    logError: (obj, msg) => log.error(obj, msg),
  });

  // The listener: fresh memory hits never reach Fastify; parser refusals are audited like requests.
  const app = Fastify({
    serverFactory: hitLaneServerFactory(hitLane, { maxHeaderBytes: config.server.maxHeaderBytes }),
    clientErrorHandler: clientErrorHandler(complete),
    // One access-log line per request comes from the request-context plugin.
    ...listenerOptions(log, requestId),
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    // Client IP for the audit trail: X-Forwarded-For is believed only from these proxies.
    trustProxy: config.audit.trustedProxies.length > 0 ? [...config.audit.trustedProxies] : false,
  }) as unknown as FastifyInstance;
  await app.register(requestContext, { isDraining, complete });
  await app.register(errorHandler);
  const health: HealthOptions = {
    upstreams: router.upstreams,
    tierHealth: storage.health,
    isDraining,
    auditHealth: () => audit?.health() ?? null,
    databasePool: () => database?.db.poolStats() ?? null,
    upstreamGuards: () => guardReadings(guards),
    ...(changeFeed === null ? {} : { changeFeeds: () => ({ [changeFeed.reading().feed]: feedHealth(changeFeed.reading(), now()) }) }),
  };
  await app.register(healthRoutes, health);
  // Exact /hooks/… routes win over the proxy's catch-all (config refuses upstreams mounted there).
  await app.register(hookRoutes, {
    config: config.hooks,
    invalidator,
    upstreams: router.upstreams,
    dedupe: deliveries,
    events: metrics,
    accepting,
    log,
  });
  await app.register(proxyRoutes, { handler });

  changeFeed?.start();

  app.addHook('onClose', async () => {
    // In-flight requests are done: flush their audit rows (or spool them) before the database goes.
    clearInterval(epochPruning);
    await changeFeed?.close();
    sources.close();
    readThrough.refreshAhead.close();
    for (const guard of guards.values()) guard.quota.close();
    await forwarder.close();
    await audit?.close(config.server.shutdownGraceMs);
    await sessions.close();
    await storage.close();
    await bus?.close();
    redis?.close();
    await database?.close();
  });

  return {
    app,
    storage,
    keySecret,
    stack,
    flights,
    router,
    database,
    sessions,
    audit,
    invalidator,
    metrics,
    changeFeed,
    refreshAhead: readThrough.refreshAhead,
    quotas: new Map([...guards].map(([name, guard]) => [name, guard.quota])),
    hitLane,
    tierReadings: sources.tiers,
    health,
    startedAt: now(),
    startDraining: () => {
      draining = true;
    },
  };
}
