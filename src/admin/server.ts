import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { SqlDatabase } from '../db/sql.js';
import { loggerOptions } from '../server/logger.js';
import { requestIdGenerator } from '../server/request-id.js';
import { auditRoutes } from './audit-routes.js';
import { requireAdminToken } from './auth.js';
import { invalidationRoutes, type InvalidationRoutesOptions } from './invalidation-routes.js';
import { AdminError, adminErrorHandler, sendAdminError } from './errors.js';

/** What the admin listener is built from. */
export interface AdminAppOptions {
  /** The audit/sessions database; null: audit routes answer 503 `audit_unavailable`. */
  readonly db: SqlDatabase | null;
  /** Bearer token every `/admin/*` route requires; null: the `/admin/*` routes are not registered. */
  readonly token: string | null;
  /** Applies invalidations for `POST /admin/invalidate` (absent: route not registered). */
  readonly invalidation?: InvalidationRoutesOptions;
  /** pino options (default: level info, credentials redacted); ignored when `loggerInstance` is set. */
  readonly logger?: FastifyServerOptions['logger'];
  /** A ready logger to share with the proxy listener (e.g. `sidecache.app.log`). */
  readonly loggerInstance?: FastifyBaseLogger;
  /** Request header whose sane value becomes the request id (default `x-request-id`). */
  readonly requestIdHeader?: string;
  /** Clock for report windows (tests). */
  readonly now?: () => number;
  /** Registers more admin routes or hooks on the root instance (stats, invalidation, auth, …). */
  readonly extraRoutes?: (app: FastifyInstance) => void;
}

/**
 * The admin listener's app: separate from the proxy so it can bind to 127.0.0.1 and never share
 * the proxy's catch-all route. Builds without listening; the caller listens (and closes `db`).
 */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const app = Fastify({
    ...(options.loggerInstance === undefined
      ? { logger: options.logger ?? loggerOptions('info') }
      : { loggerInstance: options.loggerInstance.child({ listener: 'admin' }) }),
    genReqId: requestIdGenerator(options.requestIdHeader ?? 'x-request-id'),
    requestIdHeader: false,
    // One line per request from the onResponse hook below, carrying reqId itself (as the proxy does).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger) => logger,
    exposeHeadRoutes: false,
    // Unknown query parameters are refused rather than silently dropped, and every violation is
    // reported. allErrors is safe here: admin schemas are small and bounded (no unbounded arrays).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: true } },
    frameworkErrors: (err, request, reply) => {
      void sendAdminError(reply, request, new AdminError('invalid_request', err.message));
    },
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 },
      'admin request completed',
    );
    done();
  });
  app.setErrorHandler(adminErrorHandler);
  app.setNotFoundHandler((request, reply) => sendAdminError(reply, request, new AdminError('not_found')));

  const token = options.token;
  if (token === null) {
    app.log.warn('ADMIN_TOKEN is not set: the /admin/* routes are disabled');
  } else {
    // One encapsulated scope: the token check covers every /admin/* route and nothing else.
    void app.register(async (admin) => {
      admin.addHook('onRequest', requireAdminToken(token));
      await admin.register(auditRoutes, { prefix: '/admin', db: options.db, ...(options.now === undefined ? {} : { now: options.now }) });
      if (options.invalidation !== undefined) await admin.register(invalidationRoutes, { prefix: '/admin', ...options.invalidation });
    });
  }
  options.extraRoutes?.(app);
  return app;
}
