import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorCatalogue, type ErrorCode } from '../errors.js';
import { noteClientFault, type ClientFault } from '../proxy/client-fault.js';
import { newProxyRecord } from '../proxy/record.js';
import type { CompleteRequest } from './completion.js';

/** What a connection error means: whose fault, and whether the client can still be answered. */
export interface ClientErrorVerdict {
  readonly code: ErrorCode;
  /** Answer with the code's status (the client is still there to read it). */
  readonly answer: boolean;
}

/** Errors that mean the client closed or reset the connection. */
const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * How node's `clientError` is read (pure). `inFlight`: a request on this connection had already
 * reached the app (its head parsed, its response not finished).
 *
 * - the client closed or reset the connection: `client_aborted` for a request in flight; before a
 *   request head was complete there is no request, so nothing (null);
 * - the head timed out (`headersTimeout`): `request_timeout`, or `request_body_timeout` mid-body;
 * - the request line and headers exceed `maxHeaderBytes`: `request_header_too_large` (431);
 * - any other parse error (bad request line, header, chunked framing): `client_malformed_request`.
 */
export function classifyClientError(code: string | undefined, inFlight: boolean): ClientErrorVerdict | null {
  if (code !== undefined && CLOSED.has(code)) return inFlight ? { code: 'client_aborted', answer: false } : null;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: inFlight ? 'request_body_timeout' : 'request_timeout', answer: true };
  if (code === 'HPE_HEADER_OVERFLOW' && !inFlight) return { code: 'request_header_too_large', answer: true };
  if (code?.startsWith('HPE_')) return { code: 'client_malformed_request', answer: true };
  return inFlight ? { code: 'client_aborted', answer: false } : null;
}

/** The method and target of a request line at the start of `packet`, as far as they can be read. */
export function requestLineOf(packet: Buffer | undefined): { method: string; url: string } {
  const line = packet?.subarray(0, 8192).toString('latin1') ?? '';
  const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}) (\S+)/.exec(line);
  return match === null ? { method: '-', url: '-' } : { method: match[1]!, url: match[2]! };
}

/** A complete HTTP/1.1 error response that closes the connection, with the usual JSON body. */
export function rawErrorResponse(code: ErrorCode, requestId: string): string {
  const { status, message } = errorCatalogue[code];
  const body = JSON.stringify({ error: code, message, requestId });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    'connection: close\r\n\r\n' +
    body
  );
}

/** node's parser errors carry the bytes that failed to parse (`rawPacket`, a Buffer). */
type ParserError = Error & { code?: string; rawPacket?: unknown };

/**
 * The listener's `clientError` handler (Fastify's `clientErrorHandler`): connection and parser
 * errors, which never reach a route. A request already being served is marked with the client's
 * fault, and the proxy and its audit row take it from there (request-context.ts). A request the
 * parser refused is answered here (400, 408 or 431 as JSON, then the connection closes) and gets
 * its own audit row and log line through `complete`, like any other request.
 */
export function clientErrorHandler(complete: CompleteRequest): (err: ParserError, socket: Socket) => void {
  // A socket reports one fault: bytes arriving after it must not make a second row.
  const handled = new WeakSet<Socket>();
  return (err, socket) => {
    if (handled.has(socket)) return void socket.destroy();
    handled.add(socket);
    const response = inFlightResponse(socket);
    const verdict = classifyClientError(err.code, response !== null);
    if (verdict === null) return void socket.destroy();
    const canAnswer = verdict.answer && socket.writable && (response === null || !response.headersSent);
    const status = canAnswer ? errorCatalogue[verdict.code].status : 0;

    if (response !== null) {
      noteClientFault(response.req, { code: verdict.code as ClientFault['code'], status });
      if (!canAnswer) return void socket.destroy();
      const id = response.getHeader('x-request-id');
      return close(socket, rawErrorResponse(verdict.code, typeof id === 'string' ? id : randomUUID()));
    }

    const id = randomUUID();
    if (canAnswer) close(socket, rawErrorResponse(verdict.code, id));
    else socket.destroy();
    const { method, url } = requestLineOf(Buffer.isBuffer(err.rawPacket) ? err.rawPacket : undefined);
    const record = newProxyRecord(Date.now());
    record.audited = true;
    record.errorCode = verdict.code;
    complete({ id, method, url, status, elapsedMs: 0, clientIp: socket.remoteAddress, userAgent: undefined, contentLength: 0 }, record);
  };
}

/** The response of a request on this socket that reached the app and is not finished yet. */
function inFlightResponse(socket: Socket): (ServerResponse & { req: IncomingMessage }) | null {
  // node:http's own pointer from a socket to the response it is serving (what its default
  // clientError handling consults too); cleared once that response has finished.
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  return response == null || response.writableFinished ? null : (response as ServerResponse & { req: IncomingMessage });
}

/** Sends `response`, stops reading and closes once it is written. */
function close(socket: Socket, response: string): void {
  socket.pause();
  socket.end(response);
  socket.once('finish', () => socket.destroy());
  // A peer that never reads its answer does not keep the socket.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
