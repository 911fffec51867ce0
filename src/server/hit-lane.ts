import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ageSeconds } from '../cache/entry.js';
import { cachePartition } from '../cache/key.js';
import type { TierStack } from '../cache/stack.js';
import type { SessionsConfig } from '../config/types.js';
import { freshness } from '../policy/freshness.js';
import { decideRead } from '../policy/read-decision.js';
import type { CallerLimits } from '../proxy/caller-limits.js';
import { preparedHead } from '../proxy/prepared-head.js';
import { planFor, ttlSeconds, type ReadThrough } from '../proxy/read-through.js';
import { readKeyFor } from '../proxy/read-key.js';
import { newProxyRecord } from '../proxy/record.js';
import { routeRequest } from '../proxy/route-request.js';
import type { UpstreamRouter } from '../proxy/upstreams.js';
import { readSessionToken, readUserIdentifier, requestCredential, validateSessionToken } from '../sessions/identity.js';
import type { SessionStore } from '../sessions/sessions.js';
import type { CompleteRequest } from './completion.js';

export interface HitLaneDeps {
  readonly router: UpstreamRouter;
  readonly stack: TierStack;
  readonly readThrough: ReadThrough;
  readonly sessions: { readonly config: SessionsConfig; readonly store: SessionStore };
  readonly callerLimits: CallerLimits;
  readonly keySecret: () => string;
  readonly now: () => number;
  /** False while the audit trail can take no rows (`audit.failClosed`). */
  readonly accepting: () => boolean;
  readonly isDraining: () => boolean;
  readonly requestId: (req: IncomingMessage) => string;
  /** True when X-Forwarded-For may name the client (trusted proxies configured). */
  readonly trustsForwardedFor: boolean;
  readonly complete: CompleteRequest;
}

/** The lane's entry: serves the request and returns true, or returns false having written nothing. */
export interface HitLane {
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests the lane has answered since start. */
  readonly served: number;
}

/**
 * Request headers that take a request off the lane: a body, client cache directives, validators
 * to compare, a client address to work out. Each is handled, the same way, by the full path.
 */
const OFF_LANE_HEADERS = ['content-length', 'transfer-encoding', 'cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

/**
 * The hit lane: fresh memory hits of plain GETs, answered straight from node:http before Fastify
 * sees the request. It runs the same steps as the full path (route, identify, key, read decision;
 * one audit row, metrics and log line through the same `complete`) but writes the response head
 * in one call from the entry's prepared fields. Anything else — a miss, a stale entry, a
 * conditional or refreshing client, a session to mint, a caller limit that counts hits, an
 * invalid target — returns false untouched, and Fastify serves it as before.
 */
export function createHitLane(deps: HitLaneDeps): HitLane {
  const { config: sessionsConfig, store: sessionStore } = deps.sessions;
  const offLane = deps.trustsForwardedFor ? [...OFF_LANE_HEADERS, 'x-forwarded-for'] : OFF_LANE_HEADERS;

  let served = 0;
  function serveHit(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' || deps.isDraining()) return false;
    const headers = req.headers;
    for (let i = 0; i < offLane.length; i++) if (headers[offLane[i]!] !== undefined) return false;
    if (!deps.accepting()) return false;
    const started = performance.now();
    const record = newProxyRecord(Date.now());
    const url = req.url ?? '';
    let routed;
    try {
      routed = routeRequest(deps.router, 'GET', url, record);
    } catch {
      return false; // the full path refuses it with the catalogued error
    }
    const { target, match } = routed;
    if (match === undefined || !match.rule.cache) return false;
    const limit = deps.callerLimits.policy(target.upstream.name);
    if (limit.limited && !limit.exemptHits) return false;

    const token = readSessionToken(headers, sessionsConfig).token;
    if (token === undefined ? sessionsConfig.mint : validateSessionToken(token) !== 'ok') return false;
    const identity = { credential: requestCredential(headers), sessionToken: token, userIdentifier: readUserIdentifier(headers, sessionsConfig) };
    const partition = cachePartition(match.rule.scope, identity, deps.keySecret());
    if (partition === null) return false;
    const { key, vary } = readKeyFor('GET', headers, target, match.rule, partition, null);
    const entry = deps.stack.memoryEntry(key);
    if (entry === undefined || entry.status < 200 || entry.status === 204 || entry.status === 304) return false;
    const now = deps.now();
    if (decideRead(freshness(entry, match.rule, now), false).action !== 'serve') return false;

    const id = deps.requestId(req);
    record.audited = true;
    record.identity = identity;
    if (token !== undefined) record.sessionId = sessionStore.resolve(token, identity.userIdentifier).sessionId;
    record.cache = 'HIT';
    record.tier = 'memory';
    deps.stack.countMemoryHit();
    deps.readThrough.noteFreshHit(entry, key, match, () => planFor({ method: 'GET', rawHeaders: req.rawHeaders, id }, target, match, key, null, vary));

    const head = preparedHead(entry);
    res.writeHead(entry.status, [
      'x-request-id',
      id,
      ...(head.fields as string[]),
      'age',
      String(ageSeconds(entry, now)),
      'x-cache',
      'HIT',
      'x-cache-tier',
      'memory',
      'cache-status',
      `sidecache; hit; ttl=${ttlSeconds(entry, now)}`,
      'content-length',
      head.contentLength,
    ]);
    res.end(entry.body);
    deps.complete(
      {
        id,
        method: 'GET',
        url,
        status: entry.status,
        elapsedMs: performance.now() - started,
        clientIp: req.socket.remoteAddress,
        userAgent: headers['user-agent'],
        contentLength: entry.body.length,
      },
      record,
    );
    served += 1;
    return true;
  }

  return {
    serve: serveHit,
    get served() {
      return served;
    },
  };
}
