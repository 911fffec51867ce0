import fp from 'fastify-plugin';
import { newProxyRecord, type ProxyRecord } from '../../proxy/record.js';
import type { CompleteRequest } from '../completion.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the proxy did with this request; null until the request starts. */
    sidecache: ProxyRecord | null;
  }
}

/**
 * Gives every request its record and `x-request-id`, marks responses `Connection: close` while
 * draining so keep-alive clients move to another instance, and reports each finished response
 * once (audit row, metrics, access log; see completion.ts).
 */
export const requestContext = fp<{ isDraining: () => boolean; complete: CompleteRequest }>(
  async (app, options) => {
    app.decorateRequest('sidecache', null);

    app.addHook('onRequest', (request, reply, done) => {
      request.sidecache = newProxyRecord(Date.now());
      reply.header('x-request-id', request.id);
      if (options.isDraining()) reply.header('connection', 'close');
      done();
    });

    app.addHook('onResponse', (request, reply, done) => {
      const record = request.sidecache;
      if (record !== null) {
        const contentLength = Number(reply.getHeader('content-length'));
        options.complete(
          {
            id: request.id,
            method: request.method,
            url: request.raw.url ?? '',
            status: reply.statusCode,
            elapsedMs: reply.elapsedTime,
            clientIp: request.ip,
            userAgent: request.headers['user-agent'],
            contentLength: Number.isFinite(contentLength) ? contentLength : 0,
          },
          record,
        );
      }
      done();
    });
  },
  { name: 'sidecache-request-context', fastify: '5.x' },
);
