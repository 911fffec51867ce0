import type { FastifyInstance, RouteHandlerMethod } from 'fastify';

/**
 * The catch-all proxy route. Its scope drops Fastify's body parsers so request bodies stay
 * unread streams that the proxy forwards (or reads itself when a rule keys on them).
 */
export async function proxyRoutes(app: FastifyInstance, options: { handler: RouteHandlerMethod }): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.all('/*', options.handler);
}
