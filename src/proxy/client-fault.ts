import type { IncomingMessage } from 'node:http';

/** How a client broke off a request that was already being served. */
export interface ClientFault {
  readonly code: 'client_aborted' | 'client_malformed_request' | 'request_body_timeout';
  /** The status the client was answered with before the connection closed; 0 when none was sent. */
  readonly status: number;
}

/**
 * Faults the listener saw on a request's connection (node reports them on the socket, not on the
 * request), for the proxy and the audit to read once the request's streams fail.
 */
const faults = new WeakMap<IncomingMessage, ClientFault>();

export function noteClientFault(request: IncomingMessage, fault: ClientFault): void {
  if (!faults.has(request)) faults.set(request, fault);
}

/** The fault noted for a request whose connection failed; a connection that just closed is an abort. */
export function clientFaultOf(request: IncomingMessage): ClientFault {
  return faults.get(request) ?? ABORTED;
}

const ABORTED: ClientFault = { code: 'client_aborted', status: 0 };
