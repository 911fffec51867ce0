import { METHODS } from 'node:http';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';

/**
 * The catch-all proxy route. Its scope drops Fastify's body parsers so request bodies stay
 * unread streams that the proxy forwards (or reads itself when a rule keys on them).
 */
export async function proxyRoutes(app: FastifyInstance, options: { handler: RouteHandlerMethod }): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  routeEveryMethod(app);
  app.all('/*', options.handler);
}

/**
 * Fastify routes nine methods; every other one Node's parser accepts (WebDAV's PROPFIND, MKCOL,
 * …, PURGE, LINK…) would be answered 405 here instead of reaching the upstream. They are added
 * as methods with a body, so their bodies stream exactly as POST's do. The method table is the
 * root instance's: the admin listener is another instance and keeps its own. CONNECT never gets
 * here (Node emits `connect`, not `request`, and the listener has no `connect` handler).
 */
function routeEveryMethod(app: FastifyInstance): void {
  const routed = new Set(app.supportedMethods);
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !routed.has(method)) app.addHttpMethod(method, { hasBody: true });
  }
}
