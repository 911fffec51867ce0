import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config/types.js';
import { TierStack } from './cache/stack.js';
import { MemoryTier } from './cache/tiers/memory.js';
import { Forwarder } from './proxy/forwarder.js';
import { createProxyHandler } from './proxy/handler.js';
import { ReadThrough, type Fetched } from './proxy/read-through.js';
import { SingleFlight } from './proxy/single-flight.js';
import { UpstreamRouter } from './proxy/upstreams.js';
import { loggerOptions } from './server/logger.js';
import { errorHandler, frameworkErrorHandler } from './server/plugins/error-handler.js';
import { requestContext } from './server/plugins/request-context.js';
import { requestIdGenerator } from './server/request-id.js';
import { healthRoutes } from './server/routes/health.js';
import { proxyRoutes } from './server/routes/proxy.js';

/** The running pieces of one sidecache instance, for the entry point, admin and tests. */
export interface Sidecache {
  readonly app: FastifyInstance;
  readonly stack: TierStack;
  readonly flights: SingleFlight<Fetched>;
  readonly router: UpstreamRouter;
  /** Marks the instance as draining: `/readyz` turns 503 and responses ask clients to reconnect elsewhere. */
  startDraining(): void;
}

export interface BuildOptions {
  /** pino options or a ready logger; defaults to the config's log level. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Clock for freshness decisions (tests). */
  readonly now?: () => number;
}

/** Builds the app without listening, so tests can `inject()` or listen on port 0. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<Sidecache> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.server.logLevel),
    genReqId: requestIdGenerator(config.server.requestIdHeader),
    requestIdHeader: false,
    // One access-log line per request comes from the request-context plugin instead.
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
  });
  const now = options.now ?? Date.now;
  let draining = false;
  const isDraining = () => draining;

  const keySecret = config.cache.keySecret ?? randomBytes(32).toString('hex');
  if (config.cache.keySecret === null) {
    app.log.warn('cache.keySecret (CACHE_KEY_SECRET) is not set: using a random per-process secret, so cache keys change on restart and differ between instances');
  }
  const redactQueryParams = new Set(config.redactQueryParams);
  const router = new UpstreamRouter(config.upstreams);
  for (const upstream of router.upstreams) {
    if (!upstream.enabled) app.log.warn({ upstream: upstream.name }, `upstream "${upstream.name}" is disabled: no target URL configured`);
  }
  const stack = new TierStack({ memory: config.cache.memory.enabled ? new MemoryTier(config.cache.memory, now) : null, now });
  const forwarder = new Forwarder(config.upstreams);
  const flights = new SingleFlight<Fetched>();
  const readThrough = new ReadThrough({ stack, forwarder, flights, keySecret, server: config.server, redactQueryParams, now });

  await app.register(requestContext, { redactQueryParams, isDraining });
  await app.register(errorHandler);
  await app.register(healthRoutes, { upstreams: router.upstreams, stack, isDraining });
  await app.register(proxyRoutes, { handler: createProxyHandler({ router, forwarder, readThrough, server: config.server }) });

  app.addHook('onClose', async () => {
    await forwarder.close();
    await stack.close();
  });

  return {
    app,
    stack,
    flights,
    router,
    startDraining: () => {
      draining = true;
    },
  };
}
