import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { HitLane } from './hit-lane.js';

/** The node:http options Fastify fills with its defaults before calling a server factory. */
interface ListenerOptions {
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly connectionTimeout: number;
  readonly maxRequestsPerSocket: number;
}

/**
 * A Fastify `serverFactory` whose listener offers every request to the hit lane first, and hands
 * Fastify whatever the lane declines. Timeouts are Fastify's, applied as its own factory would; a request line
 * and headers longer than `maxHeaderBytes` are refused by the parser (431, see client-errors.ts).
 */
export function hitLaneServerFactory(lane: HitLane, limits: { readonly maxHeaderBytes: number }) {
  return (handler: RequestListener, options: Record<string, unknown>): Server => {
    const server = createServer({ maxHeaderSize: limits.maxHeaderBytes }, (req: IncomingMessage, res: ServerResponse) => {
      if (!lane.serve(req, res, handler)) handler(req, res);
    });
    const { keepAliveTimeout, requestTimeout, connectionTimeout, maxRequestsPerSocket } = options as unknown as ListenerOptions;
    server.keepAliveTimeout = keepAliveTimeout;
    server.requestTimeout = requestTimeout;
    server.setTimeout(connectionTimeout);
    if (maxRequestsPerSocket > 0) server.maxRequestsPerSocket = maxRequestsPerSocket;
    return server;
  };
}
