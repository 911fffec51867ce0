import { pipeline, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { ageSeconds, type CacheEntry, type StoredHeaders } from '../cache/entry.js';
import { isInternalField } from '../policy/stored-fields.js';
import type { TierName } from '../cache/store.js';
import { SidecacheError } from '../errors.js';
import {
  acceptsAsIs,
  chooseCoding,
  contentCodings,
  forbidsTransform,
  IDENTITY_ONLY,
  parseAcceptEncoding,
  transcodedHeaders,
  varyWithAcceptEncoding,
  type AcceptedCodings,
  type CodingChoice,
} from '../policy/content-coding.js';
import { notModifiedHeaders } from '../policy/conditional.js';
import { rangeAnswer } from '../policy/range.js';
import { preparedHead, type PreparedHead } from './prepared-head.js';
import type { CacheOutcome } from './record.js';
import { decodingStream, transcoded, UndecodableBodyError } from './transcode.js';

type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * Sets an upstream's status on the reply. Fastify's `code()` refuses 600-999, which are
 * three-digit statuses a client must treat as their class's x00 (RFC 9110 §15) and Node writes
 * as they are: those go on the raw response, where Fastify's `send` reads the status from.
 */
export function setStatus(reply: FastifyReply, status: number): void {
  if (status <= 599) reply.code(status);
  else reply.raw.statusCode = status;
}

/** Copies response headers onto the reply; `content-length` is left to Fastify for buffered bodies. */
export function setHeaders(reply: FastifyReply, headers: StoredHeaders, keepContentLength: boolean): void {
  for (const name in headers) {
    if ((!keepContentLength && name === 'content-length') || isInternalField(name)) continue;
    reply.header(name, headers[name]);
  }
}

/**
 * Sets `x-cache`, `x-cache-tier` and the RFC 9211 `Cache-Status` field, and notes the outcome and
 * tier on the request's record: the response that says them is the one place they are decided.
 */
export function setCacheHeaders(reply: FastifyReply, outcome: CacheOutcome, cacheStatus: string, tier?: TierName): void {
  const record = reply.request.sidecache;
  if (record != null) {
    record.cache = outcome;
    if (tier !== undefined) record.tier = tier;
  }
  reply.header('x-cache', outcome);
  if (tier !== undefined) reply.header('x-cache-tier', tier);
  reply.header('cache-status', `sidecache; ${cacheStatus}`);
}

/** Clients send a handful of distinct `Accept-Encoding` values; each is parsed once. */
const acceptedMemo = new LRUCache<string, AcceptedCodings>({ max: 1000 });

/** The codings a request accepts, from its `Accept-Encoding` (parsed once per distinct value). */
function acceptedCodings(headers: RequestHeaders): AcceptedCodings {
  const raw = headers['accept-encoding'];
  if (raw === undefined) return IDENTITY_ONLY;
  const value = Array.isArray(raw) ? raw.join(', ') : raw;
  let accepted = acceptedMemo.get(value);
  if (accepted === undefined) {
    accepted = parseAcceptEncoding(value);
    acceptedMemo.set(value, accepted);
  }
  return accepted;
}

/** Whether the client gets the prepared entry's body exactly as stored (the hit lane serves only those). */
export function acceptsStoredCoding(headers: RequestHeaders, prepared: PreparedHead): boolean {
  return prepared.noTransform || acceptsAsIs(acceptedCodings(headers), prepared.codings);
}

/**
 * Serves a stored entry: stored status, headers and body, plus `Age` and cache headers. The body
 * goes as stored when the client accepts its coding, else re-coded (see `sendBody`).
 */
export function sendEntry(
  request: FastifyRequest,
  reply: FastifyReply,
  entry: CacheEntry,
  tier: TierName,
  now: number,
  outcome: CacheOutcome,
  cacheStatus: string,
): FastifyReply {
  const prepared = preparedHead(entry);
  const choice = chooseCoding(acceptedCodings(request.headers), prepared.codings, entry.body.length, prepared.noTransform);
  reply.header('age', String(ageSeconds(entry, now)));
  setCacheHeaders(reply, outcome, cacheStatus, tier);
  if (choice.kind !== 'as-is') return sendRecoded(reply, choice, entry.status, entry.headers, entry.body, prepared.codings);
  const { fields } = prepared;
  for (let i = 0; i < fields.length; i += 2) reply.header(fields[i] as string, fields[i + 1]);
  return sendRanged(request, reply, entry.status, entry.headers, entry.body);
}

/**
 * Sends a complete body as stored, or the part of it the request's `Range` asks for (RFC 9111
 * §3.3: a cache answers ranges from a complete stored response; see policy/range.ts).
 */
function sendRanged(request: FastifyRequest, reply: FastifyReply, status: number, headers: StoredHeaders, body: Buffer): FastifyReply {
  const range = rangeAnswer(request.method, request.headers, status, headers, body.length);
  if (range.kind === 'full') {
    setStatus(reply, status);
    return reply.send(body);
  }
  if (range.kind === 'unsatisfiable') {
    reply.code(416).header('content-range', `bytes */${body.length}`);
    return reply.send(Buffer.alloc(0));
  }
  reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${body.length}`);
  return reply.send(body.subarray(range.start, range.end + 1));
}

/**
 * Sends a response fetched for the cache (stored or not). The proxy asked the upstream with its
 * own `Accept-Encoding`, so the body is re-coded when the client does not accept its coding.
 */
export function sendBody(request: FastifyRequest, reply: FastifyReply, status: number, headers: StoredHeaders, body: Buffer): FastifyReply {
  const codings = contentCodings(headers);
  const choice = chooseCoding(acceptedCodings(request.headers), codings, body.length, forbidsTransform(headers));
  if (choice.kind !== 'as-is') return sendRecoded(reply, choice, status, headers, body, codings);
  setHeaders(reply, withVary(headers), false);
  return sendRanged(request, reply, status, headers, body);
}

/**
 * Streams a fetched response too large to store. A body the client cannot read as it is gets
 * decoded on the way through (re-encoding a stream is not worth it: it goes as identity).
 */
export function sendStream(request: FastifyRequest, reply: FastifyReply, status: number, headers: StoredHeaders, source: Readable): FastifyReply {
  const codings = contentCodings(headers);
  const accepted = acceptedCodings(request.headers);
  if (acceptsAsIs(accepted, codings) || forbidsTransform(headers)) {
    setStatus(reply, status);
    setHeaders(reply, withVary(headers), true);
    return reply.send(source);
  }
  const decoder = accepted.weight('identity') > 0 ? decodingStream(codings) : null;
  if (decoder === null) {
    discard(source);
    throw accepted.weight('identity') > 0 ? undecodable(`the proxy cannot decode the ${codings.join(', ')} coding`) : new SidecacheError('not_acceptable');
  }
  setStatus(reply, status);
  setHeaders(reply, transcodedHeaders(headers, 'identity'), false);
  // Failing mid-body, the pipeline destroys both streams; the reply then ends the connection.
  return reply.send(pipeline(source, decoder, () => undefined));
}

/**
 * The fields a 304 carries: those of the representation this client would get with a 200
 * (a weak ETag when its body would be re-coded), so its cached copy is validated as it is.
 */
export function notModifiedHeadersFor(request: FastifyRequest, headers: StoredHeaders): StoredHeaders {
  const choice = chooseCoding(acceptedCodings(request.headers), contentCodings(headers), 1, forbidsTransform(headers));
  return notModifiedHeaders(choice.kind === 'transcode' ? transcodedHeaders(headers, choice.to) : withVary(headers));
}

/**
 * A response in another coding than stored. The head is written only once the body is ready,
 * so a body that cannot be decoded leaves as a clean error instead of the stored head with an
 * error body. Returning the reply lets Fastify wait for the `send` that follows.
 */
function sendRecoded(
  reply: FastifyReply,
  choice: Exclude<CodingChoice, { kind: 'as-is' }>,
  status: number,
  headers: StoredHeaders,
  body: Buffer,
  codings: readonly string[],
): FastifyReply {
  if (choice.kind === 'none') throw new SidecacheError('not_acceptable');
  const { to } = choice;
  transcoded(body, codings, to).then(
    (recoded) => {
      setStatus(reply, status);
      setHeaders(reply, transcodedHeaders(headers, to), false);
      reply.send(recoded);
    },
    (err: unknown) => {
      reply.send(err instanceof UndecodableBodyError ? undecodable(err.message, err) : err);
    },
  );
  return reply;
}

/**
 * Ends a body stream nobody will read. It is started first: a generator-backed stream destroyed
 * before its first read never runs its cleanup, which is what releases the upstream body.
 */
function discard(source: Readable): void {
  source.once('data', () => source.destroy());
  source.resume();
}

function withVary(headers: StoredHeaders): StoredHeaders {
  return { ...headers, vary: varyWithAcceptEncoding(headers['vary']) };
}

function undecodable(detail: string, cause?: unknown): SidecacheError {
  return new SidecacheError('upstream_undecodable_body', `the upstream's body could not be decoded for this client (${detail})`, { cause });
}

/**
 * A response sent before the request body was read to the end leaves unread bytes on the
 * connection; it cannot be reused for the next request, so ask the client to close it.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete) reply.header('connection', 'close');
}
