import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import { pino, type DestinationStream, type LoggerOptions as PinoOptions } from 'pino';
import { REDACT_QUERY_PARAMS } from '../config/schema.js';
import { redactUrl } from '../policy/redaction.js';

interface SerializableRequest {
  readonly id?: unknown;
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly ip?: string;
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly socket?: { readonly remotePort?: number };
}

/**
 * pino options: credentials are redacted wherever a serializer might pick them up, and a
 * request's URL is logged with its secret query values redacted (see policy/redaction.ts).
 */
export function loggerOptions(level: string, redactQueryParams: readonly string[] = REDACT_QUERY_PARAMS): NonNullable<FastifyServerOptions['logger']> {
  const secretNames = new Set(redactQueryParams.map((name) => name.toLowerCase()));
  return {
    level,
    serializers: {
      // Fastify's own request serializer, with the URL redacted.
      req: (request: SerializableRequest) => ({
        method: request.method,
        url: typeof request.url === 'string' ? redactUrl(request.url, secretNames) : request.url,
        version: request.headers?.['accept-version'] as string | undefined,
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["proxy-authorization"]',
        'req.headers["x-session-token"]',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
      ],
      censor: '[REDACTED]',
    },
  };
}

/** The process's one logger: pino with credentials and secret query values redacted; `false` for none (tests). */
export function processLogger(level: string, option: FastifyServerOptions['logger']): FastifyBaseLogger {
  if (option === false) return pino({ level: 'silent' });
  const { stream, ...options } = (option === undefined || option === true ? loggerOptions(level) : option) as PinoOptions & { stream?: DestinationStream };
  return stream === undefined ? pino(options) : pino(options, stream);
}
