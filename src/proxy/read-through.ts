import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RefreshAheadConfig, ServerConfig } from '../config/types.js';
import { ageMs, ageSeconds, ttlSeconds, type CacheEntry } from '../cache/entry.js';
import { cachePartition } from '../cache/key.js';
import type { TierHit, TierStack } from '../cache/stack.js';
import { SidecacheError } from '../errors.js';
import { notModified } from '../policy/conditional.js';
import { freshness, staleUse, type Freshness } from '../policy/freshness.js';
import { decideClientRead, decideRead, type StoredView } from '../policy/read-decision.js';
import { clientDirectives } from '../policy/request-directives.js';
import type { NotStoredReason } from '../policy/storability.js';
import { selectingFields } from '../policy/vary.js';
import type { RuleMatch } from '../policy/rules.js';
import { hasRequestBody, readBody } from './body.js';
import type { CacheFiller, Fetched, FillPlan } from './cache-fill.js';
import type { ProxyEvents, StaleReason } from './events.js';
import { RefreshAhead } from './refresh-ahead.js';
import type { Forwarder } from './forwarder.js';
import { headerValue } from '../http/fields.js';
import { passThrough, type BypassReason } from './pass-through.js';
import { readKeyFor } from './read-key.js';
import { replayStream } from './replay-stream.js';
import { notModifiedHeadersFor, sendBody, sendEntry, sendStream, setCacheHeaders } from './respond.js';
import type { CacheOutcome } from './record.js';
import type { SingleFlight } from './single-flight.js';
import type { ProxyTarget } from './target.js';

export interface ReadThroughDeps {
  readonly stack: TierStack;
  readonly forwarder: Forwarder;
  readonly filler: CacheFiller;
  readonly flights: SingleFlight<Fetched>;
  /** The secret credentials are hashed with in keys (may change once, see CacheStorage). */
  readonly keySecret: () => string;
  readonly server: ServerConfig;
  readonly now: () => number;
  /** Told about every cache hit (hit counts are kept per entry). */
  readonly onHit?: (key: string) => void;
  readonly events?: Pick<ProxyEvents, 'coalesced' | 'staleServed'>;
  /** Hot entries of `refreshAhead` rules are refreshed before they expire (`cache.refreshAhead`). */
  readonly refreshAhead: { readonly config: RefreshAheadConfig; readonly intervalMs: number };
  /** Whether an upstream is in quota-saver mode (its `UpstreamQuota.saving`). */
  readonly saving?: (upstream: string) => boolean;
}

/** Serves a cacheable request: key → tiers → single-flight upstream fetch → store → respond. */
export class ReadThrough {
  readonly #deps: ReadThroughDeps;
  /** Remembers hot entries of `refreshAhead` rules and refreshes them through this read-through. */
  readonly refreshAhead: RefreshAhead;

  constructor(deps: ReadThroughDeps) {
    this.#deps = deps;
    const { config, intervalMs } = deps.refreshAhead;
    this.refreshAhead = new RefreshAhead({
      config,
      now: deps.now,
      intervalMs,
      refresh: (plan, stored) => this.refreshInBackground(plan, stored),
      ...(deps.saving !== undefined && { paused: deps.saving }),
    });
  }

  /** `beforeUpstream` runs before a miss goes upstream (a caller rate limit that exempts hits). */
  async serve(request: FastifyRequest, reply: FastifyReply, target: ProxyTarget, match: RuleMatch, beforeUpstream?: () => Promise<void>): Promise<FastifyReply> {
    const { rule } = match;
    const deps = this.#deps;
    const record = request.sidecache!;

    // 1. The client may opt out of the cache entirely, or the scope may be unknowable.
    const standards = rule.freshness === 'origin';
    const directives = clientDirectives(request.headers);
    if (directives.noStore) return this.#bypass(request, reply, target, 'no-store');
    const partition = cachePartition(rule.scope, record.identity!, deps.keySecret());
    if (partition === null) return this.#bypass(request, reply, target, 'no-session');

    // 2. Build the key (reading the body first when the rule keys on it). Standards mode answers
    // HEAD from the stored GET and fills it with a GET (RFC 9110 §9.3.2, RFC 9111 §4.3.5).
    let body: Buffer | null = null;
    if (rule.bodyKey && hasRequestBody(request.headers)) {
      body = await readBody(request.raw, headerValue(request.headers, 'content-length'), deps.server.maxKeyedBodyBytes, deps.server.requestBody);
      record.requestBytes = body.length;
    }
    const method = standards && request.method === 'HEAD' ? 'GET' : request.method;
    const { key, vary } = readKeyFor(method, request.headers, target, rule, partition, body);
    const plan = () => planFor({ method, rawHeaders: request.raw.rawHeaders, id: request.id }, target, match, key, body, vary);

    // 3. Look in the tiers. A stale entry is still useful: its validators make the refetch
    // conditional, and it can stand in for an upstream failure.
    const refresh = directives.noCache && (standards || target.upstream.config.clientNoCache === 'refresh');
    let hit = deps.stack.peekMemory(key) ?? (await deps.stack.lookupLower(key));
    if (hit !== undefined && standards) hit = await deps.filler.chooseVariant(hit, { key, match }, (name) => headerValue(request.headers, name));
    const saving = hit !== undefined && deps.saving !== undefined && deps.saving(target.upstream.name);
    const now = deps.now();
    const state = hit === undefined ? null : freshness(hit.entry, rule, now);
    const decision = standards ? decideClientRead(hit === undefined ? null : storedView(hit.entry, rule, state!, now), directives, saving) : decideRead(state, refresh, saving);
    if (decision.action === 'serve') {
      this.noteFreshHit(hit!.entry, key, match, plan);
      return this.#sendStored(request, reply, hit!, 'HIT', `hit; ttl=${ttlSeconds(hit!.entry, now)}`);
    }
    if (decision.action === 'serve-quota') {
      return this.#sendStale(request, reply, hit!, 'quota', 'hit; fwd=stale; detail=quota-saver');
    }
    if (decision.action === 'serve-accepted-stale') {
      return this.#sendStale(request, reply, hit!, 'client', 'hit; fwd=stale; detail=max-stale');
    }
    if (decision.action === 'serve-stale') {
      this.refreshInBackground(plan(), hit!.entry);
      return this.#sendStale(request, reply, hit!, 'revalidating', 'hit; fwd=stale');
    }
    if (decision.action === 'unsatisfiable') {
      setCacheHeaders(reply, 'MISS', 'fwd=miss; detail=only-if-cached');
      throw new SidecacheError('only_if_cached');
    }
    // A stored error never stands in for a fresh one (it would only replay an old failure).
    const stale = decision.staleFallback && hit!.entry.status < 500 ? hit : undefined;
    await beforeUpstream?.();

    // 4. Miss: one upstream call per key, however many requests are waiting for it.
    // With a stale entry to fall back on, a saturated upstream refuses at once instead of queueing.
    const flight = deps.flights.run(key, () => deps.filler.fetchOnce(plan(), hit?.entry, stale === undefined));
    if (!flight.leader) deps.events?.coalesced(target.upstream.name);
    let fetched: Fetched;
    try {
      fetched = await flight.result;
    } catch (err) {
      if (stale === undefined) throw err;
      return this.#sendStale(request, reply, stale, staleReasonFor(err), 'hit; fwd=stale; detail=stale-if-error');
    }
    if (fetched.kind === 'peer') {
      return this.#sendStored(request, reply, fetched.hit, 'HIT', 'hit; detail=filled-by-peer');
    }
    record.upstreamMs = fetched.upstreamMs;
    if (stale !== undefined && fetched.kind === 'complete' && fetched.failure !== null) {
      const reason = fetched.failure === 'server_error' ? 'error' : 'rate_limited';
      return this.#sendStale(request, reply, stale, reason, `hit; fwd=stale; fwd-status=${fetched.status}; detail=stale-if-error`);
    }
    const outcome: CacheOutcome = fetched.kind === 'complete' && fetched.revalidated ? 'REVALIDATED' : 'MISS';
    const fwd = fetched.kind === 'complete' && fetched.revalidated ? 'fwd=stale' : refresh ? 'fwd=request' : 'fwd=uri-miss';

    if (fetched.kind === 'oversize') {
      if (!flight.leader) return this.#bypass(request, reply, target, 'uncollapsible', body);
      setCacheHeaders(reply, 'MISS', `${fwd}; fwd-status=${fetched.status}; detail=too-large`);
      return sendStream(request, reply, fetched.status, fetched.headers, replayStream(fetched.head, fetched.rest));
    }
    if (!flight.leader && !this.#shareable(fetched, request, standards)) {
      return this.#bypass(request, reply, target, 'uncollapsible', body);
    }
    const age = Math.floor((fetched.ageMs + deps.now() - fetched.requestedAt) / 1000);
    if (age > 0) reply.header('age', String(age));
    const stored = fetched.decision.store ? 'stored' : `detail=${fetched.decision.reason}`;
    const collapsed = flight.leader ? '' : '; collapsed';
    const fwdStatus = fetched.revalidated ? 304 : fetched.status;
    setCacheHeaders(reply, outcome, `${fwd}; fwd-status=${fwdStatus}${collapsed}; ${stored}`);
    if (notModified(request.method, request.headers, fetched.status, fetched.headers)) {
      return reply.code(304).headers(notModifiedHeadersFor(request, fetched.headers)).send();
    }
    return sendBody(request, reply, fetched.status, fetched.headers, fetched.body);
  }

  /**
   * Whether a request that joined the flight may have the leader's response. Not when it sets
   * cookies, nor (standards mode) when the origin marked it for one client (`private`, `no-store`,
   * an authorised answer it did not make shareable, RFC 9111 §3.5), nor when it varies and the
   * request's selecting fields differ from the leader's (§4.1).
   */
  #shareable(fetched: Extract<Fetched, { kind: 'complete' }>, request: FastifyRequest, standards: boolean): boolean {
    if (fetched.headers['set-cookie'] !== undefined) return false;
    if (standards && !fetched.decision.store && ONE_CLIENT_REASONS.has(fetched.decision.reason)) return false;
    if (fetched.variant === null) return true;
    const fields = selectingFields(fetched.headers);
    return fetched.variant !== '*' && this.#deps.filler.variantOf(fields, (name) => headerValue(request.headers, name)) === fetched.variant;
  }

  /** Bookkeeping of a fresh hit, wherever it was served: per-entry hit counts and refresh-ahead. */
  noteFreshHit(entry: CacheEntry, key: string, match: RuleMatch, plan: () => FillPlan): void {
    this.#deps.onHit?.(key);
    if (match.rule.refreshAhead) this.refreshAhead.noteHit(entry, plan);
  }

  /** Serves a stored entry, or 304 when the client's own validators match it. */
  #sendStored(request: FastifyRequest, reply: FastifyReply, hit: TierHit, outcome: CacheOutcome, cacheStatus: string): FastifyReply {
    const { entry } = hit;
    if (notModified(request.method, request.headers, entry.status, entry.headers)) {
      reply.code(304).headers(notModifiedHeadersFor(request, entry.headers));
      reply.header('age', String(ageSeconds(entry, this.#deps.now())));
      setCacheHeaders(reply, outcome, cacheStatus, hit.tier);
      return reply.send();
    }
    return sendEntry(request, reply, entry, hit.tier, this.#deps.now(), outcome, cacheStatus);
  }

  #sendStale(request: FastifyRequest, reply: FastifyReply, hit: TierHit, reason: StaleReason, cacheStatus: string): FastifyReply {
    this.#deps.events?.staleServed(hit.entry.upstream, reason);
    request.sidecache!.staleReason = reason;
    reply.header('x-cache-stale-reason', reason);
    return this.#sendStored(request, reply, hit, 'STALE', cacheStatus);
  }

  /** One background refresh per key (joining a foreground miss if one is running). */
  refreshInBackground(plan: FillPlan, stored: CacheEntry): void {
    const flight = this.#deps.flights.run(plan.key, () => this.#deps.filler.fetchOnce(plan, stored, false));
    // Nobody waits for it; a failure leaves the stale entry in place for the next request.
    void flight.result.then(
      (fetched) => {
        if (fetched.kind === 'oversize') void fetched.rest.return?.();
      },
      () => undefined,
    );
  }

  #bypass(request: FastifyRequest, reply: FastifyReply, target: ProxyTarget, reason: BypassReason, body?: Buffer | null) {
    return passThrough(this.#deps.forwarder, request, reply, target, {
      reason,
      server: this.#deps.server,
      body,
    });
  }
}

/** What a fill needs to know of the request it fetches for. */
export interface PlannedRequest {
  readonly method: string;
  readonly rawHeaders: readonly string[];
  readonly id: string;
}

export function planFor(request: PlannedRequest, target: ProxyTarget, match: RuleMatch, key: string, body: Buffer | null, vary: readonly string[]): FillPlan {
  return { method: request.method, rawHeaders: request.rawHeaders, requestId: request.id, target, match, key, body, keyVary: new Set(vary) };
}

/** Why an origin's response belongs to the one client it was fetched for. */
const ONE_CLIENT_REASONS: ReadonlySet<NotStoredReason> = new Set(['private', 'no-store', 'authorization']);

/** A stored entry as the client's directives see it (standards mode). */
function storedView(entry: CacheEntry, rule: RuleMatch['rule'], state: Freshness, now: number): StoredView {
  return { state, ageMs: ageMs(entry, now), freshForMs: entry.expiresAt - now, mustRevalidate: staleUse(entry, rule).mustRevalidate };
}

/** Why a failed upstream call was answered with stale data. */
function staleReasonFor(err: unknown): StaleReason {
  const code = err instanceof SidecacheError ? err.code : undefined;
  if (code === 'upstream_timeout') return 'timeout';
  if (code === 'upstream_circuit_open') return 'circuit_open';
  if (code === 'upstream_saturated') return 'saturated';
  if (code === 'upstream_throttled') return 'rate_limited';
  return 'error';
}
