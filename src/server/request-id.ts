import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Fastify `genReqId`: the caller's request id when it is short and plain, a fresh UUID otherwise. */
export function requestIdGenerator(header: string): (req: IncomingMessage) => string {
  return (req) => {
    const incoming = req.headers[header];
    return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  };
}
