import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config/types.js';
import { openCacheStorage, type CacheStorage } from './cache/open-stack.js';
import { openManagedDatabase, type ManagedDatabase } from './db/lifecycle.js';
import { AuditWriter } from './audit/writer.js';
import { identityHeadersToStrip } from './sessions/identity.js';
import { SessionStore } from './sessions/sessions.js';
import { EpochTable } from './invalidation/epochs.js';
import { MAX_RESPECTED_TTL_MS } from './policy/storability.js';
import { Invalidator } from './invalidation/invalidator.js';
import { CallerLimits } from './proxy/caller-limits.js';
import { Forwarder } from './proxy/forwarder.js';
import { createProxyHandler } from './proxy/handler.js';
import { CacheFiller, type Fetched } from './proxy/cache-fill.js';
import { ReadThrough } from './proxy/read-through.js';
import { RefreshAhead } from './proxy/refresh-ahead.js';
import { SingleFlight } from './proxy/single-flight.js';
import { UpstreamRouter } from './proxy/upstreams.js';
import { loggerOptions } from './server/logger.js';
import { errorHandler, frameworkErrorHandler } from './server/plugins/error-handler.js';
import { requestContext } from './server/plugins/request-context.js';
import { requestCompletion } from './server/completion.js';
import { createHitLane, type HitLane } from './server/hit-lane.js';
import { hitLaneServerFactory } from './server/listener.js';
import { clientErrorHandler } from './server/client-errors.js';
import { requestIdGenerator } from './server/request-id.js';
import { healthRoutes, type HealthOptions } from './server/routes/health.js';
import { SidecacheMetrics, type TierReading, type UpstreamGuardReading } from './metrics/metrics.js';
import { metricSources } from './metrics/sources.js';
import { proxyRoutes } from './server/routes/proxy.js';
import { hookRoutes } from './hooks/routes.js';

/** The running pieces of one sidecache instance, for the entry point, admin and tests. */
export interface Sidecache {
  readonly app: FastifyInstance;
  readonly storage: CacheStorage;
  readonly stack: CacheStorage['stack'];
  readonly flights: SingleFlight<Fetched>;
  readonly router: UpstreamRouter;
  readonly database: ManagedDatabase | null;
  readonly sessions: SessionStore;
  readonly audit: AuditWriter | null;
  readonly invalidator: Invalidator;
  readonly metrics: SidecacheMetrics;
  readonly refreshAhead: RefreshAhead;
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
  /** prom-client's process metrics (CPU, memory, event loop, GC); default on. */
  readonly processMetrics?: boolean;
}

/** How often hot entries of refresh-ahead rules are checked against their lead window. */
const REFRESH_AHEAD_TICK_MS = 1_000;

/** Builds the app without listening, so tests can `inject()` or listen on port 0. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<Sidecache> {
  const requestId = requestIdGenerator(config.server.requestIdHeader);
  // Fresh memory hits are answered before Fastify sees them (server/hit-lane.ts); the lane is
  // built below, once the pieces it reads exist.
  let hitLane: HitLane | null = null;
  // Connection and parser errors are audited like requests once `complete` exists (below).
  let onClientError: ReturnType<typeof clientErrorHandler> = (_err, socket) => socket.destroy();
  const app = Fastify({
    serverFactory: hitLaneServerFactory(() => hitLane, { maxHeaderBytes: config.server.maxHeaderBytes }),
    clientErrorHandler: (err, socket) => onClientError(err, socket),
    logger: options.logger ?? loggerOptions(config.server.logLevel),
    genReqId: requestId,
    requestIdHeader: false,
    // One access-log line per request comes from the request-context plugin instead.
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request (it costs more than the rest of a memory hit's logging):
    // our own log lines carry `reqId` explicitly.
    childLoggerFactory: (logger) => logger,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    // Client IP for the audit trail: X-Forwarded-For is believed only from these proxies.
    trustProxy: config.audit.trustedProxies.length > 0 ? [...config.audit.trustedProxies] : false,
  });
  const now = options.now ?? Date.now;
  let draining = false;
  const isDraining = () => draining;

  const redactQueryParams = new Set(config.redactQueryParams);
  const router = new UpstreamRouter(config.upstreams, identityHeadersToStrip(config.sessions));
  for (const upstream of router.upstreams) {
    if (!upstream.enabled) app.log.warn({ upstream: upstream.name }, `upstream "${upstream.name}" is disabled: no target URL configured`);
  }
  // The database serves the Postgres tier, audit and sessions; opened when any of them is on.
  const needsDatabase = config.cache.postgres.enabled || config.audit.enabled;
  const database = needsDatabase ? await openManagedDatabase(config.database, app.log) : null;
  const epochs = new EpochTable();
  const storage = await openCacheStorage(config, { log: app.log, now, database, isCurrent: (entry) => epochs.isCurrent(entry) });
  const { stack } = storage;
  const invalidator = new Invalidator({ epochs, stack, bus: storage.bus, database, now, log: app.log });
  const epochHorizonMs = longestLifetimeMs(config) + 60_000;
  await invalidator.load(now() - epochHorizonMs).catch((err: Error) => app.log.warn({ err: err.message }, 'could not load invalidation epochs'));
  void database?.whenReady.then(() => invalidator.load(now() - epochHorizonMs)).catch(() => undefined);
  const epochPruning = setInterval(() => void invalidator.prune(now() - epochHorizonMs).catch(() => undefined), 600_000);
  epochPruning.unref();
  const sessions = new SessionStore({
    db: database?.db ?? null,
    secret: storage.keySecret(),
    config: config.sessions,
    now,
    log: (obj, msg) => app.log.warn(obj, msg),
  });
  sessions.start();
  storage.onKeySecretChange((secret) => sessions.setSecret(secret));
  const audit = config.audit.enabled
    ? new AuditWriter({ db: database?.db ?? null, config: config.audit, log: app.log, now, dbReady: database?.ready })
    : null;
  await audit?.start();
  const sources = metricSources({ storage, invalidator, audit, db: database?.db ?? null });
  const metrics: SidecacheMetrics = new SidecacheMetrics(
    { ...sources, upstreamGuards: (): Map<string, UpstreamGuardReading> => guardReadings(forwarder) },
    { processMetrics: options.processMetrics ?? true },
  );
  const forwarder: Forwarder = new Forwarder(config.upstreams, metrics, {
    onBreakerStateChange: (upstream, change) => app.log.warn({ upstream, from: change.from, to: change.to }, `upstream "${upstream}" circuit ${change.to}`),
  });
  const flights = new SingleFlight<Fetched>();
  const refreshAhead = new RefreshAhead({
    config: config.cache.refreshAhead,
    now,
    refresh: (plan, stored) => readThrough.refreshInBackground(plan, stored),
    intervalMs: REFRESH_AHEAD_TICK_MS,
  });
  const readThrough: ReadThrough = new ReadThrough({
    stack,
    forwarder,
    filler: new CacheFiller({ stack, forwarder, redactQueryParams, now, leases: storage.fillLeases }),
    flights,
    keySecret: storage.keySecret,
    server: config.server,
    now,
    onHit: storage.countHit,
    events: metrics,
    refreshAhead,
  });

  const complete = requestCompletion({ audit, events: metrics, log: app.log, redactQueryParams });
  onClientError = clientErrorHandler(complete);
  await app.register(requestContext, { isDraining, complete });
  await app.register(errorHandler);
  const health: HealthOptions = {
    upstreams: router.upstreams,
    tierHealth: storage.health,
    isDraining,
    auditHealth: () => audit?.health() ?? null,
    databasePool: () => database?.db.poolStats() ?? null,
    upstreamGuards: () => guardReadings(forwarder),
  };
  await app.register(healthRoutes, health);
  const accepting = () => audit?.accepting() ?? true;
  const callerLimits = new CallerLimits({ upstreams: config.upstreams, redis: storage.redisClient, namespace: config.cache.namespace, log: app.log });
  const sessionDeps = { config: config.sessions, store: sessions };
  const handler = createProxyHandler({
    router,
    forwarder,
    readThrough,
    server: config.server,
    sessions: sessionDeps,
    accepting,
    invalidator,
    callerLimits,
  });
  // Exact /hooks/… routes win over the proxy's catch-all (config refuses upstreams mounted there).
  await app.register(hookRoutes, {
    config: config.hooks,
    invalidator,
    upstreams: router.upstreams,
    redis: { client: storage.redisClient, namespace: config.cache.namespace, timeoutMs: config.cache.redis.readTimeoutMs },
    events: metrics,
    accepting,
    log: app.log,
  });
  await app.register(proxyRoutes, { handler });
  const lane = createHitLane({
    router,
    stack,
    readThrough,
    sessions: sessionDeps,
    callerLimits,
    keySecret: storage.keySecret,
    now,
    accepting,
    isDraining,
    requestId,
    trustsForwardedFor: config.audit.trustedProxies.length > 0,
    complete,
    logError: (obj, msg) => app.log.error(obj, msg),
  });
  hitLane = lane;

  app.addHook('onClose', async () => {
    // In-flight requests are done: flush their audit rows (or spool them) before the database goes.
    clearInterval(epochPruning);
    sources.close();
    refreshAhead.close();
    await forwarder.close();
    await audit?.close(config.server.shutdownGraceMs);
    await sessions.close();
    await storage.close();
    await database?.close();
  });

  return {
    app,
    storage,
    stack,
    flights,
    router,
    database,
    sessions,
    audit,
    invalidator,
    metrics,
    refreshAhead,
    hitLane: lane,
    tierReadings: sources.tiers,
    health,
    startedAt: now(),
    startDraining: () => {
      draining = true;
    },
  };
}

function guardReadings(forwarder: Forwarder): Map<string, UpstreamGuardReading> {
  const readings = new Map<string, UpstreamGuardReading>();
  for (const [upstream, stats] of forwarder.guardStats()) {
    readings.set(upstream, {
      breakerState: stats.breaker.state,
      breakerOpens: stats.breaker.opens,
      limit: stats.concurrency.limit,
      inFlight: stats.concurrency.inFlight,
      queued: stats.concurrency.queued,
      rejected: stats.concurrency.rejected,
      pausedForMs: stats.pausedForMs,
    });
  }
  return readings;
}

/** The longest any entry can live: invalidation epochs older than this cannot matter. */
function longestLifetimeMs(config: Config): number {
  let longest = MAX_RESPECTED_TTL_MS;
  for (const upstream of config.upstreams) {
    for (const rule of upstream.rules) longest = Math.max(longest, rule.ttlMs, rule.negativeTtlMs ?? 0);
  }
  return longest;
}
