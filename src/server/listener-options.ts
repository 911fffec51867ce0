import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';

/**
 * The Fastify options both listeners (proxy and admin) share: the process's logger, our own
 * request ids, one access-log line written by us per request (carrying `reqId` itself), no pino
 * child per request (it costs more than the rest of a memory hit's logging), and no implicit
 * HEAD routes.
 */
export function listenerOptions(log: FastifyBaseLogger, genReqId: (req: IncomingMessage) => string) {
  return {
    loggerInstance: log,
    genReqId,
    requestIdHeader: false,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    exposeHeadRoutes: false,
  } as const satisfies FastifyServerOptions & { loggerInstance: FastifyBaseLogger };
}
