import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientFaultOf } from '../../proxy/client-fault.js';
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
 * draining so keep-alive clients move to another instance, and reports each request once (audit
 * row, metrics, access log; see completion.ts): when its response has finished, or when its
 * connection closed first, blamed on the client (it left, or the listener refused what it sent).
 */
export const requestContext = fp<{ isDraining: () => boolean; complete: CompleteRequest }>(
  async (app, options) => {
    const reported = new WeakSet<ProxyRecord>();

    function report(request: FastifyRequest, reply: FastifyReply, record: ProxyRecord, broken: boolean): void {
      if (reported.has(record)) return;
      reported.add(record);
      let status = reply.statusCode;
      let contentLength = Number(reply.getHeader('content-length'));
      if (broken) {
        const fault = clientFaultOf(request.raw);
        if (!reply.raw.headersSent) {
          // Whatever the handler made of it afterwards, nothing of it reached the client.
          record.errorCode = fault.code;
          status = fault.status;
          contentLength = 0;
        } else {
          record.errorCode ??= 'client_aborted';
        }
      }
      options.complete(
        {
          id: request.id,
          method: request.method,
          url: request.raw.url ?? '',
          status,
          elapsedMs: reply.elapsedTime,
          clientIp: request.ip,
          userAgent: request.headers['user-agent'],
          contentLength: Number.isFinite(contentLength) ? contentLength : 0,
        },
        record,
      );
    }

    app.decorateRequest('sidecache', null);

    app.addHook('onRequest', (request, reply, done) => {
      const record = newProxyRecord(Date.now());
      request.sidecache = record;
      // On the raw response, so an answer the listener writes itself (client-errors.ts) carries it too.
      reply.raw.setHeader('x-request-id', request.id);
      if (options.isDraining()) reply.header('connection', 'close');
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) report(request, reply, record, true);
      });
      done();
    });

    app.addHook('onResponse', (request, reply, done) => {
      const record = request.sidecache;
      if (record !== null) report(request, reply, record, false);
      done();
    });
  },
  { name: 'sidecache-request-context', fastify: '5.x' },
);
