import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { retryAfterHeader } from '../../http/fields.js';
import { errorBody, SidecacheError } from '../../errors.js';
import { closeIfBodyUnread } from '../../proxy/respond.js';

/** Every error leaves as `{error, message, requestId}` with the catalogued status. */
export const errorHandler = fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const error = toSidecacheError(err);
      if (request.sidecache !== null) request.sidecache.errorCode = error.code;
      if (error.code === 'internal_error') request.log.error({ reqId: request.id, err }, 'unhandled error');
      else if (error.status >= 500) request.log.warn({ reqId: request.id, code: error.code, cause: causeMessage(error) }, error.message);
      return sendError(reply, request, error);
    });

    // Targets Fastify cannot route at all: absolute-form URLs and unsupported methods.
    app.setNotFoundHandler((request, reply) => {
      const url = request.raw.url ?? '';
      const error = url.startsWith('/')
        ? new SidecacheError('method_not_supported', `method ${request.method} is not supported`)
        : new SidecacheError('bad_request_target');
      if (request.sidecache !== null) {
        request.sidecache.errorCode = error.code;
        request.sidecache.audited = true;
      }
      return sendError(reply, request, error);
    });
  },
  { name: 'sidecache-error-handler', fastify: '5.x' },
);

/** Fastify framework errors (bad URL encoding, …) go through the same catalogue. */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  void sendError(reply, request, new SidecacheError('invalid_path', err.message));
}

function sendError(reply: FastifyReply, request: FastifyRequest, error: SidecacheError): FastifyReply {
  closeIfBodyUnread(request, reply);
  if (error.retryAfterMs !== null) reply.header('retry-after', retryAfterHeader(error.retryAfterMs));
  return reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send(errorBody(error, request.id));
}

function toSidecacheError(err: FastifyError): SidecacheError {
  if (err instanceof SidecacheError) return err;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SidecacheError('request_body_too_large');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new SidecacheError('invalid_request', err.message);
  }
  return new SidecacheError('internal_error', undefined, { cause: err });
}

function causeMessage(error: SidecacheError): string | undefined {
  return error.cause instanceof Error ? error.cause.message : undefined;
}
