import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import { ageSeconds, ttlSeconds, type CacheEntry } from '../cache/entry.js';
import { cachePartition } from '../cache/key.js';
import type { TierStack } from '../cache/stack.js';
import type { SessionsConfig } from '../config/types.js';
import { freshness } from '../policy/freshness.js';
import { decideRead } from '../policy/read-decision.js';
import type { CallerLimits } from '../proxy/caller-limits.js';
import { headerValue } from '../http/fields.js';
import { clientFaultOf } from '../proxy/client-fault.js';
import { preparedHead, type PreparedHead } from '../proxy/prepared-head.js';
import { acceptsStoredCoding } from '../proxy/respond.js';
import { planFor, type ReadThrough } from '../proxy/read-through.js';
import { readKeyFor } from '../proxy/read-key.js';
import { newProxyRecord, type ProxyRecord } from '../proxy/record.js';
import { routeRequest, type RoutedRequest } from '../proxy/route-request.js';
import type { UpstreamRouter } from '../proxy/upstreams.js';
import type { RuleMatch } from '../policy/rules.js';
import { requestIdentity, validateSessionToken } from '../sessions/identity.js';
import type { SessionStore } from '../sessions/sessions.js';
import type { AuditRoute } from '../audit/hit-row.js';
import { auditRouteFor } from './audit-event.js';
import type { CompleteRequest } from './completion.js';
import { sendHit } from './hit-wire.js';
import { turnBatch } from './turn-batch.js';

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
  /** Query parameters whose values audit rows redact (config `redactQueryParams`). */
  readonly redactQueryParams: ReadonlySet<string>;
  /** Write a plain hit's bytes to the socket (hit-wire.ts) rather than through `writeHead`. */
  readonly directWrites: boolean;
  /** Hold each hit's answer to the end of the event-loop turn and write the turn's answers together. */
  readonly batchWrites: boolean;
  readonly complete: CompleteRequest;
  /** Where an unexpected error in the lane is reported (the request still gets its answer). */
  readonly logError: (obj: object, msg: string) => void;
}

/**
 * The lane's entry: takes the request and returns true, or returns false having written nothing.
 * A request the lane took but then could not answer before writing anything goes to `fallback`
 * (the full path).
 */
export interface HitLane {
  serve(req: IncomingMessage, res: ServerResponse, fallback: RequestListener): boolean;
  /** Requests the lane has answered since start. */
  readonly served: number;
}

/**
 * Hot URLs repeat: the lane remembers, per raw URL, how it routed (the router and rules are
 * fixed at boot, so the answer cannot change) and, per URL, partition and vary values, the key
 * it built. Bounded, so a scan of distinct URLs only costs the misses.
 */
const MEMO_ENTRIES = 10_000;

/** A routed cacheable GET, with the record fields routing noted, ready to copy onto each request's record. */
interface RouteMemo {
  readonly routed: RoutedRequest;
  readonly noted: Pick<ProxyRecord, 'path' | 'query' | 'upstream' | 'rule' | 'action' | 'resourceType' | 'resourceId'> & { readonly auditRoute: AuditRoute };
  /**
   * The key the URL made last, and for which partition, when the rule varies on nothing: then
   * URL and partition alone make the key, and a hot URL seen again by the same partition (every
   * request, under `scope: shared`) skips building and looking up the memo key.
   */
  lastPartition: string | null;
  lastKey: string;
}

/** A hit the lane decided to serve, with everything its answer and its report need. */
interface LaneHit {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly fallback: RequestListener;
  readonly entry: CacheEntry;
  readonly prepared: PreparedHead;
  readonly id: string;
  readonly age: string;
  readonly cacheStatus: string;
  readonly record: ProxyRecord;
  readonly url: string;
  readonly started: number;
  readonly clientIp: string | undefined;
  readonly userAgent: string | undefined;
}

/**
 * Whether a request carries a header that takes it off the lane: a body, client cache directives,
 * validators to compare, a range to cut. Written out name by name: one property load each, where a loop over
 * names would make every load a megamorphic keyed one.
 */
function offLane(h: IncomingHttpHeaders): boolean {
  return (
    h['content-length'] !== undefined ||
    h['transfer-encoding'] !== undefined ||
    h['cache-control'] !== undefined ||
    h.pragma !== undefined ||
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined ||
    h['if-range'] !== undefined ||
    h.range !== undefined
  );
}

/**
 * The hit lane: fresh memory hits of plain GETs, answered straight from node:http before Fastify
 * sees the request. It runs the same steps as the full path (route, identify, key, read decision;
 * one audit row, metrics and log line through the same `complete`) but writes the response head
 * in one call from the entry's prepared fields, straight to the socket where it can
 * (hit-wire.ts). Anything else — a miss, a stale entry, a conditional or refreshing client, a session to mint, a caller limit that counts hits, an
 * invalid target — returns false untouched, and Fastify serves it as before.
 */
export function createHitLane(deps: HitLaneDeps): HitLane {
  const { config: sessionsConfig, store: sessionStore } = deps.sessions;
  const { trustsForwardedFor, directWrites } = deps;

  let served = 0;
  const atTurnEnd = deps.batchWrites ? turnBatch(answerOrHandOver, failedAtTurnEnd) : null;
  const routes = new LRUCache<string, RouteMemo>({ max: MEMO_ENTRIES });
  const keys = new LRUCache<string, string>({ max: MEMO_ENTRIES });

  /** How a URL routes as a GET, or null when the full path must refuse it. */
  function routeOf(url: string): RouteMemo | null {
    let memo = routes.get(url);
    if (memo === undefined) {
      const record = newProxyRecord(0);
      try {
        const routed = routeRequest(deps.router, 'GET', url, record);
        const { path, query, upstream, rule, action, resourceType, resourceId } = record;
        const auditRoute = auditRouteFor(record, 'GET', url, deps.redactQueryParams);
        memo = { routed, noted: { path, query, auditRoute, upstream, rule, action, resourceType, resourceId }, lastPartition: null, lastKey: '' };
      } catch {
        return null; // not remembered: the full path refuses it with the catalogued error
      }
      routes.set(url, memo);
    }
    return memo;
  }

  /** The key a URL, partition and vary values make (memoised), remembered on the route when nothing varies. */
  function keyOf(route: RouteMemo, match: RuleMatch, url: string, partition: string, vary: readonly string[], headers: IncomingHttpHeaders): string {
    let memoKey = `${partition}\0${url}`;
    for (let i = 0; i < vary.length; i++) memoKey += `\0${headerValue(headers, vary[i]!) ?? ''}`;
    let key = keys.get(memoKey);
    if (key === undefined) {
      key = readKeyFor('GET', headers, route.routed.target, match.rule, partition, null).key;
      keys.set(memoKey, key);
    }
    if (vary.length === 0) {
      route.lastPartition = partition;
      route.lastKey = key;
    }
    return key;
  }

  function serveHit(req: IncomingMessage, res: ServerResponse, fallback: RequestListener): boolean {
    if (req.method !== 'GET' || deps.isDraining()) return false;
    const headers = req.headers;
    // Each of these is handled, the same way, by the full path; so is a client address to work out.
    if (offLane(headers) || (trustsForwardedFor && headers['x-forwarded-for'] !== undefined)) return false;
    if (!deps.accepting()) return false;
    const started = performance.now();
    const url = req.url ?? '';
    const route = routeOf(url);
    if (route === null) return false;
    const { target, match } = route.routed;
    if (match === undefined || !match.rule.cache) return false;
    const limit = deps.callerLimits.policy(target.upstream.name);
    if (limit.limited && !limit.exemptHits) return false;

    const identity = requestIdentity(headers, sessionsConfig);
    const token = identity.sessionToken;
    if (token === undefined ? sessionsConfig.mint : validateSessionToken(token) !== 'ok') return false;
    const partition = cachePartition(match.rule.scope, identity, deps.keySecret());
    if (partition === null) return false;
    const vary = target.upstream.varyFor(match.rule);
    const key = vary.length === 0 && route.lastPartition === partition ? route.lastKey : keyOf(route, match, url, partition, vary, headers);
    const entry = deps.stack.memoryEntry(key);
    if (entry === undefined || entry.status < 200 || entry.status === 204 || entry.status === 304) return false;
    const now = deps.now();
    if (decideRead(freshness(entry, match.rule, now), false).action !== 'serve') return false;
    // A client that cannot read the stored coding as it is gets a re-coded body on the full path,
    // and a varying entry (standards mode) is matched to the request's fields there.
    const prepared = preparedHead(entry);
    if (prepared.varies || !acceptsStoredCoding(headers, prepared)) return false;

    const id = deps.requestId(req);
    const record = newProxyRecord(Date.now());
    const { noted } = route;
    record.path = noted.path;
    record.query = noted.query;
    record.auditRoute = noted.auditRoute;
    record.upstream = noted.upstream;
    record.rule = noted.rule;
    record.action = noted.action;
    record.resourceType = noted.resourceType;
    record.resourceId = noted.resourceId;
    record.audited = true;
    record.identity = identity;
    if (token !== undefined) record.sessionId = sessionStore.resolve(token, identity.userIdentifier).sessionId;
    record.cache = 'HIT';
    record.tier = 'memory';
    deps.stack.countMemoryHit();
    deps.readThrough.noteFreshHit(entry, key, match, () => planFor({ method: 'GET', rawHeaders: req.rawHeaders, id }, target, match, key, null, vary));

    const hit: LaneHit = {
      req,
      res,
      fallback,
      entry,
      prepared,
      id,
      age: String(ageSeconds(entry, now)),
      cacheStatus: `sidecache; hit; ttl=${ttlSeconds(entry, now)}`,
      record,
      url,
      started,
      clientIp: req.socket.remoteAddress,
      userAgent: headers['user-agent'],
    };
    if (atTurnEnd === null) answer(hit);
    else atTurnEnd.add(hit);
    return true;
  }

  /** Writes the hit's answer and reports it, or reports the client gone if it left while the answer waited. */
  function answer(hit: LaneHit): void {
    const { req, res, entry, record } = hit;
    let status = entry.status;
    let contentLength = entry.body.length;
    if (req.socket.destroyed) {
      const fault = clientFaultOf(req);
      record.errorCode = fault.code;
      status = fault.status;
      contentLength = 0;
    } else {
      sendHit(req, res, entry, hit.prepared, hit.id, hit.age, hit.cacheStatus, directWrites);
      served += 1;
    }
    deps.complete(
      { id: hit.id, method: 'GET', url: hit.url, status, elapsedMs: performance.now() - hit.started, clientIp: hit.clientIp, userAgent: hit.userAgent, contentLength },
      record,
    );
  }

  /** At the turn's end: answers the hit, or, if that failed before a byte was written, hands it to the full path. */
  function answerOrHandOver(hit: LaneHit): void {
    try {
      answer(hit);
    } catch (err) {
      if (hit.res.headersSent) throw err;
      deps.logError({ err }, 'hit lane failed before writing; the full path serves the request');
      hit.fallback(hit.req, hit.res);
    }
  }

  function failedAtTurnEnd(err: unknown): void {
    deps.logError({ err }, 'hit lane failed after the response was sent, or handing the request to the full path failed');
  }

  /**
   * An exception thrown from a `request` listener would take the process down. Before anything is
   * written the full path simply takes the request over; after, the response is already out.
   */
  function serve(req: IncomingMessage, res: ServerResponse, fallback: RequestListener): boolean {
    try {
      return serveHit(req, res, fallback);
    } catch (err) {
      deps.logError({ err }, 'hit lane failed; the full path serves the request unless the response was already sent');
      return res.headersSent;
    }
  }

  return {
    serve,
    get served() {
      return served;
    },
  };
}
