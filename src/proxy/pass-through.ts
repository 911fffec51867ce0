import { pipeline, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BodyLimit, hasRequestBody } from './body.js';
import type { Forwarder } from './forwarder.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { closeIfBodyUnread, setCacheHeaders, setHeaders } from './respond.js';
import type { ProxyTarget } from './target.js';

/** Why a request bypassed the cache; reported as `Cache-Status: sidecache; fwd=bypass; detail=…`. */
export type BypassReason = 'no-rule' | 'no-store' | 'no-session' | 'uncollapsible';

/**
 * Forwards a request and streams the response back untouched (no cache involved). Bodies
 * stream both ways; `body` is given when the request body was already read for keying.
 */
export async function passThrough(
  forwarder: Forwarder,
  request: FastifyRequest,
  reply: FastifyReply,
  target: ProxyTarget,
  options: {
    reason: BypassReason;
    maxBodyBytes: number;
    body?: Buffer | null;
    /** Runs once the upstream's status is known and before anything is sent (write invalidation). */
    beforeRespond?: (status: number) => Promise<unknown>;
  },
): Promise<FastifyReply> {
  const record = request.sidecache!;
  let body: Readable | Buffer | null = options.body ?? null;
  if (options.body === undefined && hasRequestBody(request.headers)) {
    const limit = new BodyLimit(options.maxBodyBytes);
    body = pipeline(request.raw, limit, () => {
      record.requestBytes = limit.bytes;
    });
  }
  // Abort the upstream call if the client goes away before the response is complete.
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });

  const started = performance.now();
  const response = await forwarder.request(target.upstream.name, {
    method: request.method,
    path: target.forwardPath,
    headers: forwardRequestHeaders(request.raw.rawHeaders, target.upstream.headerPlan, request.id),
    body,
    signal: abort.signal,
  });
  record.upstreamMs = performance.now() - started;
  record.cache = 'BYPASS';
  await options.beforeRespond?.(response.status);

  reply.code(response.status);
  setHeaders(reply, forwardResponseHeaders(response.headers), true);
  setCacheHeaders(reply, 'BYPASS', `fwd=bypass; detail=${options.reason}`);
  closeIfBodyUnread(request, reply);
  return reply.send(response.body);
}
