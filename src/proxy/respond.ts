import type { FastifyReply, FastifyRequest } from 'fastify';
import { ageSeconds, type CacheEntry, type StoredHeaders } from '../cache/entry.js';
import type { TierName } from '../cache/store.js';
import type { CacheOutcome } from './record.js';

/** Copies response headers onto the reply; `content-length` is left to Fastify for buffered bodies. */
export function setHeaders(reply: FastifyReply, headers: StoredHeaders, keepContentLength: boolean): void {
  for (const name in headers) {
    if (!keepContentLength && name === 'content-length') continue;
    reply.header(name, headers[name]);
  }
}

/** Sets `x-cache` and the RFC 9211 `Cache-Status` field. */
export function setCacheHeaders(reply: FastifyReply, outcome: CacheOutcome, cacheStatus: string, tier?: TierName): void {
  reply.header('x-cache', outcome);
  if (tier !== undefined) reply.header('x-cache-tier', tier);
  reply.header('cache-status', `sidecache; ${cacheStatus}`);
}

/** Serves a stored entry: stored status, headers and body, plus `Age` and cache headers. */
export function sendEntry(reply: FastifyReply, entry: CacheEntry, tier: TierName, now: number, outcome: CacheOutcome, cacheStatus: string): FastifyReply {
  reply.code(entry.status);
  setHeaders(reply, entry.headers, false);
  reply.header('age', String(ageSeconds(entry, now)));
  setCacheHeaders(reply, outcome, cacheStatus, tier);
  return reply.send(entry.body);
}

/**
 * A response sent before the request body was read to the end leaves unread bytes on the
 * connection; it cannot be reused for the next request, so ask the client to close it.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete) reply.header('connection', 'close');
}
