import fp from 'fastify-plugin';
import type { ProxyEvents } from '../../proxy/events.js';
import { newProxyRecord, type ProxyRecord } from '../../proxy/record.js';
import type { AuditWriter } from '../../audit/writer.js';
import { redactQuery } from '../../policy/query.js';
import { auditEventFor } from '../audit-event.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the proxy did with this request; null until the request starts. */
    sidecache: ProxyRecord | null;
  }
}

/**
 * Gives every request its record and `x-request-id`, marks responses `Connection: close` while
 * draining so keep-alive clients move to another instance, and when a response has finished
 * hands its audit row to the writer and writes one access-log line (credentials and secret
 * query values redacted).
 */
export const requestContext = fp<{
  redactQueryParams: ReadonlySet<string>;
  isDraining: () => boolean;
  audit: AuditWriter | null;
  events?: Pick<ProxyEvents, 'requestCompleted'>;
}>(
  async (app, options) => {
    app.decorateRequest('sidecache', null);
    const accessLog = ['info', 'debug', 'trace'].includes(app.log.level);

    app.addHook('onRequest', (request, reply, done) => {
      request.sidecache = newProxyRecord(Date.now());
      reply.header('x-request-id', request.id);
      if (options.isDraining()) reply.header('connection', 'close');
      done();
    });

    app.addHook('onResponse', (request, reply, done) => {
      const record = request.sidecache;
      if (record?.audited) {
        options.audit?.record(auditEventFor(request, reply, record, options.redactQueryParams));
        options.events?.requestCompleted(record.upstream, request.method, reply.statusCode, record.cache, reply.elapsedTime / 1000);
      }
      if (record !== null && accessLog) {
        const url = request.raw.url ?? '';
        const q = url.indexOf('?');
        request.log.info(
          {
            reqId: request.id,
            method: request.method,
            url: q === -1 ? url : `${url.slice(0, q)}?${redactQuery(url.slice(q + 1), options.redactQueryParams)}`,
            status: reply.statusCode,
            upstream: record.upstream,
            rule: record.rule,
            cache: record.cache,
            tier: record.tier,
            upstreamMs: record.upstreamMs === null ? null : Math.round(record.upstreamMs * 10) / 10,
            durationMs: Math.round(reply.elapsedTime * 10) / 10,
            error: record.errorCode,
          },
          'request completed',
        );
      }
      done();
    });
  },
  { name: 'sidecache-request-context', fastify: '5.x' },
);
