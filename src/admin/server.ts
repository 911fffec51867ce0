import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { SqlDatabase } from '../db/sql.js';
import { redactUrl } from '../policy/redaction.js';
import { listenerOptions } from '../server/listener-options.js';
import { loggerOptions, processLogger } from '../server/logger.js';
import { requestIdGenerator } from '../server/request-id.js';
import { auditRoutes } from './audit-routes.js';
import { requireAdminToken } from './auth.js';
import type { InspectedCache } from './cache-inspector.js';
import { cacheRoutes } from './cache-routes.js';
import { defaultConsoleDir } from './console-assets.js';
import { consoleRoutes } from './console-routes.js';
import { invalidationRoutes, type InvalidationRoutesOptions } from './invalidation-routes.js';
import { AdminError, adminErrorHandler, sendAdminError } from './errors.js';
import { markTokenProtected, openApiRoute, registerOpenApi } from './openapi.js';
import { adminSchemaCompiler } from './validation.js';
import { upstreamsRoutes, type UpstreamsRoutesOptions } from './upstreams-routes.js';
import { warmRoutes, type WarmRoutesOptions } from './warm-routes.js';

/** What the admin listener is built from. */
export interface AdminAppOptions {
  /** The audit/sessions database; null: audit routes answer 503 `audit_unavailable`. */
  readonly db: SqlDatabase | null;
  /** Bearer token every `/admin/*` route requires; null: the `/admin/*` routes are not registered. */
  readonly token: string | null;
  /** Applies invalidations for `POST /admin/invalidate` (absent: route not registered). */
  readonly invalidation?: InvalidationRoutesOptions;
  /** The cache tiers for `GET /admin/cache/entries` and `/admin/cache/entry` (e.g. `Sidecache.storage`; absent: not registered). */
  readonly cache?: InspectedCache;
  /** The proxy app and upstreams for `POST /admin/warm` (absent: not registered). */
  readonly warm?: Omit<WarmRoutesOptions, 'requestIdHeader'>;
  /** Configured upstreams for `GET /admin/upstreams` (rules and per-rule traffic; absent: not registered). */
  readonly upstreams?: UpstreamsRoutesOptions['upstreams'];
  /**
   * Where the built console is (default: `dist/console/`, see `defaultConsoleDir`); null: no
   * `/console/`. Served only when the token is set, since every figure it shows needs it.
   */
  readonly consoleDir?: string | null;
  /** pino options (default: level info, credentials redacted); ignored when `loggerInstance` is set. */
  readonly logger?: FastifyServerOptions['logger'];
  /** A ready logger to share with the proxy listener (e.g. `sidecache.app.log`). */
  readonly loggerInstance?: FastifyBaseLogger;
  /** Query parameter names redacted in logged URLs, on top of the built-in pattern (`Config.redactQueryParams`). */
  readonly redactQueryParams?: readonly string[];
  /** Request header whose sane value becomes the request id (default `x-request-id`). */
  readonly requestIdHeader?: string;
  /** Clock for report windows (tests). */
  readonly now?: () => number;
  /**
   * Registers more routes INSIDE the token scope, under `/admin` (e.g. `/stats` → `/admin/stats`):
   * they get the bearer check and the OpenAPI security requirement. Give them querystring/body
   * schemas with `additionalProperties: false` like the rest.
   */
  readonly adminRoutes?: (admin: FastifyInstance) => void | Promise<void>;
  /**
   * Registers more routes or hooks on the root instance, OUTSIDE the token scope: the place for
   * `/metrics`, `/healthz`, `/readyz`. Routes added through `app.register(...)` also appear in
   * the OpenAPI document (without a security requirement).
   */
  readonly extraRoutes?: (app: FastifyInstance) => void;
}

/** Largest admin request body (a full warm list is far smaller); larger: 413 `request_body_too_large`. */
const ADMIN_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The admin listener's app: separate from the proxy so it can bind to 127.0.0.1 and never share
 * the proxy's catch-all route. Builds without listening; the caller listens (and closes `db`).
 */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const secretParams = new Set((options.redactQueryParams ?? []).map((name) => name.toLowerCase()));
  const log = options.loggerInstance?.child({ listener: 'admin' }) ?? processLogger('info', options.logger ?? loggerOptions('info', options.redactQueryParams));
  const app = Fastify({
    // One line per request from the onResponse hook below, as on the proxy listener.
    ...listenerOptions(log, requestIdGenerator(options.requestIdHeader ?? 'x-request-id')),
    bodyLimit: ADMIN_BODY_LIMIT_BYTES,
    frameworkErrors: (err, request, reply) => {
      void sendAdminError(reply, request, new AdminError('invalid_request', err.message));
    },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(adminSchemaCompiler());

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { reqId: request.id, method: request.method, url: redactUrl(request.url, secretParams), status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 },
      'admin request completed',
    );
    done();
  });
  app.setErrorHandler(adminErrorHandler);
  app.setNotFoundHandler((request, reply) => sendAdminError(reply, request, new AdminError('not_found')));

  // First, so that it sees every route registered after it, in the token scope or not.
  void app.register(registerOpenApi);

  const token = options.token;
  if (token === null) {
    app.log.warn('ADMIN_TOKEN is not set: the /admin/* routes are disabled');
  } else {
    // One encapsulated scope: the token check covers every /admin/* route and nothing else.
    void app.register(async (admin) => {
      admin.addHook('onRequest', requireAdminToken(token));
      admin.addHook('onRoute', markTokenProtected);
      const now = options.now === undefined ? {} : { now: options.now };
      await admin.register(auditRoutes, { prefix: '/admin', db: options.db, ...now });
      if (options.invalidation !== undefined) await admin.register(invalidationRoutes, { prefix: '/admin', ...options.invalidation });
      if (options.cache !== undefined) await admin.register(cacheRoutes, { prefix: '/admin', cache: options.cache, ...now });
      if (options.warm !== undefined) {
        await admin.register(warmRoutes, { prefix: '/admin', ...options.warm, requestIdHeader: options.requestIdHeader ?? 'x-request-id' });
      }
      if (options.upstreams !== undefined) await admin.register(upstreamsRoutes, { prefix: '/admin', upstreams: options.upstreams, db: options.db, ...now });
      const more = options.adminRoutes;
      if (more !== undefined) await admin.register(async (scope) => more(scope), { prefix: '/admin' });
      // The description of the admin API is itself behind the token, like everything under /admin.
      await admin.register(openApiRoute, { prefix: '/admin' });
    });
    // Outside the token scope: a browser navigating to /console/ cannot send a bearer token.
    const consoleDir = options.consoleDir === undefined ? defaultConsoleDir() : options.consoleDir;
    if (consoleDir !== null) void app.register(consoleRoutes, { prefix: '/console', dir: consoleDir });
  }
  options.extraRoutes?.(app);
  return app;
}
