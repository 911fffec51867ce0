import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import { guardedBody, hasRequestBody, receiveBody } from './body.js';
import { clientFaultOf } from './client-fault.js';
import type { Forwarder, UpstreamResponse } from './forwarder.js';
import { forwardRequestHeaders, forwardResponseHeaders, type RequestHeaderPlan } from './headers.js';
import { earlyHintsFrom } from './early-hints.js';
import { closeIfBodyUnread, setCacheHeaders, setHeaders, setStatus } from './respond.js';
import type { ProxyTarget } from './target.js';

/** Why a request bypassed the cache; reported as `Cache-Status: sidecache; fwd=bypass; detail=…`. */
export type BypassReason = 'no-rule' | 'no-store' | 'no-session' | 'uncollapsible' | 'oauth';

/**
 * Forwards a request and streams the response back untouched (no cache involved). A request body
 * up to `requestBody.bufferUpTo` is received whole before the upstream call (and its concurrency
 * slot) starts; a larger one streams. `body` is given when it was already read for keying.
 */
export async function passThrough(
  forwarder: Forwarder,
  request: FastifyRequest,
  reply: FastifyReply,
  target: ProxyTarget,
  options: {
    reason: BypassReason;
    /** Body limits: size, the client's pace, how much is received before the upstream call. */
    server: Pick<ServerConfig, 'maxRequestBodyBytes' | 'requestBody'>;
    body?: Buffer | null;
    /** Runs once the upstream's status and headers are known and before anything is sent (write invalidation). */
    beforeRespond?: (response: UpstreamResponse) => Promise<unknown>;
    /** The request header rewrite, when not the upstream's own (OAuth answers are asked for uncompressed). */
    headerPlan?: RequestHeaderPlan;
    /** Changes the upstream's answer before it is sent (OAuth answers, proxy/oauth.ts). */
    rewrite?: (response: UpstreamResponse) => Promise<UpstreamResponse>;
  },
): Promise<FastifyReply> {
  const record = request.sidecache!;
  // The upstream call is aborted when the client goes away before the response is complete, or
  // its body fails; an aborted call is never held against the upstream (see Forwarder.request).
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort(new SidecacheError(clientFaultOf(request.raw).code));
  });
  let body: Readable | Buffer | null = options.body ?? null;
  if (options.body === undefined && hasRequestBody(request.headers)) {
    const { maxRequestBodyBytes, requestBody } = options.server;
    const guard = guardedBody({
      source: request.raw,
      maxBytes: maxRequestBodyBytes,
      pace: requestBody,
      onError: (err) => abort.abort(err),
      onBytes: (bytes) => {
        record.requestBytes = bytes;
      },
    });
    body = await receiveBody(guard, request.headers['content-length'], requestBody.bufferUpToBytes);
  }

  const started = performance.now();
  const forwarded = await forwarder.request(target.upstream.name, {
    method: request.method,
    path: target.forwardPath,
    headers: forwardRequestHeaders(request.raw.rawHeaders, options.headerPlan ?? target.upstream.headerPlan, request.id),
    body,
    signal: abort.signal,
    onInterim: (status, headers) => relayEarlyHints(request, reply, status, headers),
  });
  record.upstreamMs = performance.now() - started;
  const response = options.rewrite === undefined ? forwarded : await options.rewrite(forwarded);
  await options.beforeRespond?.(response);

  setStatus(reply, response.status);
  setHeaders(reply, forwardResponseHeaders(response.headers), true);
  setCacheHeaders(reply, 'BYPASS', `fwd=bypass; detail=${options.reason}`);
  closeIfBodyUnread(request, reply);
  return reply.send(response.body);
}

/**
 * Passes an upstream's `103 Early Hints` on, so the client can start fetching what it links to
 * while the upstream works. Never to an HTTP/1.0 client (RFC 9110 §15.2), nor once the final
 * response has started or the client has gone.
 */
function relayEarlyHints(request: FastifyRequest, reply: FastifyReply, status: number, headers: UpstreamResponse['headers']): void {
  const { raw } = reply;
  if (raw.headersSent || raw.destroyed || (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 0)) return;
  const hints = earlyHintsFrom(status, headers);
  if (hints === null) return;
  try {
    raw.writeEarlyHints(hints);
  } catch {
    // Hints are advisory, and another Node version may check Link values differently: drop them.
  }
}
