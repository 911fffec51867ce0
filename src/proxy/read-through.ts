import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { ageSeconds, type CacheEntry, type StoredHeaders } from '../cache/entry.js';
import { buildCacheKey, cachePartition, hashRequestBody } from '../cache/key.js';
import type { FillLeases } from '../cache/fill-lease.js';
import type { TierHit, TierStack } from '../cache/stack.js';
import { SidecacheError } from '../errors.js';
import { CONDITIONAL_REQUEST_HEADERS, mergeNotModified, notModified, notModifiedHeaders, revalidationHeaders } from '../policy/conditional.js';
import { freshness, staleWindowMs } from '../policy/freshness.js';
import { classifyUpstreamResponse, FAILURE_BODY_SNIPPET_BYTES, type UpstreamFailureKind } from '../resilience/retry-after.js';
import { canonicalQuery, redactQuery } from '../policy/query.js';
import type { RuleMatch } from '../policy/rules.js';
import { clientDirectives, decideStore, type StoreDecision } from '../policy/storability.js';
import { hasRequestBody, readBody } from './body.js';
import type { ProxyEvents, StaleReason } from './events.js';
import type { Forwarder } from './forwarder.js';
import { forwardRequestHeaders, forwardResponseHeaders, headerValue, storableResponseHeaders } from './headers.js';
import { passThrough, type BypassReason } from './pass-through.js';
import { sendEntry, setCacheHeaders, setHeaders } from './respond.js';
import type { CacheOutcome } from './record.js';
import type { SingleFlight } from './single-flight.js';
import type { ProxyTarget } from './target.js';

/** An upstream response fetched for the cache, shared by every request that joined the flight. */
export type Fetched =
  | {
      readonly kind: 'complete';
      readonly status: number;
      readonly headers: StoredHeaders;
      readonly body: Buffer;
      readonly decision: StoreDecision;
      readonly upstreamMs: number;
      /** A 304 renewed the stored entry: `body` is the stored body. */
      readonly revalidated: boolean;
      /** Why this response is an upstream failure (stale data may be served instead), or null. */
      readonly failure: UpstreamFailureKind | null;
      /** Settles once the stored entry reached the first shared tier (null: nothing stored). */
      readonly storing: Promise<void> | null;
    }
  | {
      /** Another instance held the fill lease and stored the entry: read back from a shared tier. */
      readonly kind: 'peer';
      readonly hit: TierHit;
      readonly upstreamMs: null;
    }
  | {
      /** Larger than the rule's max body size: only the leader streams it, waiters fetch their own. */
      readonly kind: 'oversize';
      readonly status: number;
      readonly headers: StoredHeaders;
      readonly head: readonly Buffer[];
      readonly rest: AsyncIterator<Buffer>;
      readonly upstreamMs: number;
    };

export interface ReadThroughDeps {
  readonly stack: TierStack;
  readonly forwarder: Forwarder;
  readonly flights: SingleFlight<Fetched>;
  /** The secret credentials are hashed with in keys (may change once, see CacheStorage). */
  readonly keySecret: () => string;
  readonly server: ServerConfig;
  readonly redactQueryParams: ReadonlySet<string>;
  readonly now: () => number;
  /** Told about every cache hit (hit counts are kept per entry). */
  readonly onHit?: (key: string) => void;
  readonly events?: Pick<ProxyEvents, 'coalesced' | 'staleServed'>;
  /** Cross-instance single flight (Redis); absent without Redis. */
  readonly leases?: FillLeases | null;
}

/** Serves a cacheable request: key → tiers → single-flight upstream fetch → store → respond. */
export class ReadThrough {
  readonly #deps: ReadThroughDeps;

  constructor(deps: ReadThroughDeps) {
    this.#deps = deps;
  }

  /** `beforeUpstream` runs before a miss goes upstream (a caller rate limit that exempts hits). */
  async serve(request: FastifyRequest, reply: FastifyReply, target: ProxyTarget, match: RuleMatch, beforeUpstream?: () => Promise<void>): Promise<FastifyReply> {
    const { rule } = match;
    const deps = this.#deps;
    const record = request.sidecache!;

    // 1. The client may opt out of the cache entirely, or the scope may be unknowable.
    const directives = clientDirectives(request.headers);
    if (directives.noStore) return this.#bypass(request, reply, target, 'no-store');
    const partition = cachePartition(rule.scope, record.identity!, deps.keySecret());
    if (partition === null) return this.#bypass(request, reply, target, 'no-session');

    // 2. Build the key (reading the body first when the rule keys on it).
    let body: Buffer | null = null;
    if (rule.bodyKey && hasRequestBody(request.headers)) {
      body = await readBody(request.raw, headerValue(request.headers, 'content-length'), deps.server.maxKeyedBodyBytes);
      record.requestBytes = body.length;
    }
    const vary = target.upstream.varyFor(rule);
    const key = buildCacheKey({
      upstream: target.upstream.name,
      method: request.method,
      path: target.path,
      query: canonicalQuery(target.queryPairs),
      vary: vary.map((name) => [name, headerValue(request.headers, name) ?? ''] as const),
      partition,
      bodyHash: body === null ? null : hashRequestBody(body, headerValue(request.headers, 'content-type')),
    });

    // 3. Look in the tiers. A stale entry is still useful: its validators make the refetch
    // conditional, and it can stand in for an upstream failure.
    const refresh = directives.noCache && target.upstream.config.clientNoCache === 'refresh';
    const hit = deps.stack.peekMemory(key) ?? (await deps.stack.lookupLower(key));
    const state = hit === undefined ? 'expired' : freshness(hit.entry, rule, deps.now());
    if (hit !== undefined && !refresh) {
      if (state === 'fresh') {
        record.cache = 'HIT';
        record.tier = hit.tier;
        deps.onHit?.(key);
        const ttl = Math.max(0, Math.floor((hit.entry.expiresAt - deps.now()) / 1000));
        return this.#sendStored(request, reply, hit, 'HIT', `hit; ttl=${ttl}`);
      }
      if (state === 'stale-while-revalidate') {
        this.#refreshInBackground(request, target, match, key, body, new Set(vary), hit.entry);
        return this.#sendStale(request, reply, hit, 'revalidating', 'hit; fwd=stale');
      }
    }
    const stale = hit !== undefined && state !== 'expired' ? hit : undefined;
    await beforeUpstream?.();

    // 4. Miss: one upstream call per key, however many requests are waiting for it.
    // With a stale entry to fall back on, a saturated upstream refuses at once instead of queueing.
    const flight = deps.flights.run(key, () => this.#fetchOnce(request, target, match, key, body, new Set(vary), hit?.entry, stale === undefined));
    if (!flight.leader) deps.events?.coalesced(target.upstream.name);
    let fetched: Fetched;
    try {
      fetched = await flight.result;
    } catch (err) {
      if (stale === undefined) throw err;
      return this.#sendStale(request, reply, stale, staleReasonFor(err), 'hit; fwd=stale; detail=stale-if-error');
    }
    if (fetched.kind === 'peer') {
      record.cache = 'HIT';
      record.tier = fetched.hit.tier;
      return this.#sendStored(request, reply, fetched.hit, 'HIT', 'hit; detail=filled-by-peer');
    }
    record.upstreamMs = fetched.upstreamMs;
    if (stale !== undefined && fetched.kind === 'complete' && fetched.failure !== null) {
      const reason = fetched.failure === 'server_error' ? 'error' : 'rate_limited';
      return this.#sendStale(request, reply, stale, reason, `hit; fwd=stale; fwd-status=${fetched.status}; detail=stale-if-error`);
    }
    const outcome: CacheOutcome = fetched.kind === 'complete' && fetched.revalidated ? 'REVALIDATED' : 'MISS';
    record.cache = outcome;
    const fwd = fetched.kind === 'complete' && fetched.revalidated ? 'fwd=stale' : refresh ? 'fwd=request' : 'fwd=uri-miss';

    if (fetched.kind === 'oversize') {
      if (!flight.leader) return this.#bypass(request, reply, target, 'uncollapsible', body);
      reply.code(fetched.status);
      setHeaders(reply, fetched.headers, true);
      setCacheHeaders(reply, 'MISS', `${fwd}; fwd-status=${fetched.status}; detail=too-large`);
      return reply.send(Readable.from(concat(fetched.head, fetched.rest)));
    }
    // A response that sets cookies belongs to the one caller it was fetched for.
    if (!flight.leader && fetched.headers['set-cookie'] !== undefined) {
      return this.#bypass(request, reply, target, 'uncollapsible', body);
    }
    const stored = fetched.decision.store ? 'stored' : `detail=${fetched.decision.reason}`;
    const collapsed = flight.leader ? '' : '; collapsed';
    const fwdStatus = fetched.revalidated ? 304 : fetched.status;
    setCacheHeaders(reply, outcome, `${fwd}; fwd-status=${fwdStatus}${collapsed}; ${stored}`);
    if (notModified(request.method, request.headers, fetched.status, fetched.headers)) {
      return reply.code(304).headers(notModifiedHeaders(fetched.headers)).send();
    }
    reply.code(fetched.status);
    setHeaders(reply, fetched.headers, false);
    return reply.send(fetched.body);
  }

  /** Serves a stored entry, or 304 when the client's own validators match it. */
  #sendStored(request: FastifyRequest, reply: FastifyReply, hit: TierHit, outcome: CacheOutcome, cacheStatus: string): FastifyReply {
    const { entry } = hit;
    if (notModified(request.method, request.headers, entry.status, entry.headers)) {
      reply.code(304).headers(notModifiedHeaders(entry.headers));
      reply.header('age', String(ageSeconds(entry, this.#deps.now())));
      setCacheHeaders(reply, outcome, cacheStatus, hit.tier);
      return reply.send();
    }
    return sendEntry(reply, entry, hit.tier, this.#deps.now(), outcome, cacheStatus);
  }

  #sendStale(request: FastifyRequest, reply: FastifyReply, hit: TierHit, reason: StaleReason, cacheStatus: string): FastifyReply {
    const record = request.sidecache!;
    record.cache = 'STALE';
    record.tier = hit.tier;
    this.#deps.events?.staleServed(hit.entry.upstream, reason);
    reply.header('x-cache-stale-reason', reason);
    return this.#sendStored(request, reply, hit, 'STALE', cacheStatus);
  }

  /** One background refresh per key (joining a foreground miss if one is running). */
  #refreshInBackground(
    request: FastifyRequest,
    target: ProxyTarget,
    match: RuleMatch,
    key: string,
    body: Buffer | null,
    keyVary: ReadonlySet<string>,
    stored: CacheEntry,
  ): void {
    const flight = this.#deps.flights.run(key, () => this.#fetchOnce(request, target, match, key, body, keyVary, stored, false));
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
      maxBodyBytes: this.#deps.server.maxRequestBodyBytes,
      body,
    });
  }

  /**
   * `#fetch`, at most once across instances: with Redis, the first instance to miss takes the
   * key's fill lease and fetches; the others wait for it and read its entry from Redis. When the
   * holder stored nothing (an error, an uncacheable answer) or Redis is away, each fetches itself.
   */
  async #fetchOnce(
    request: FastifyRequest,
    target: ProxyTarget,
    match: RuleMatch,
    key: string,
    body: Buffer | null,
    keyVary: ReadonlySet<string>,
    stored: CacheEntry | undefined,
    wait: boolean,
  ): Promise<Fetched> {
    const leases = this.#deps.leases;
    if (leases === null || leases === undefined) return this.#fetch(request, target, match, key, body, keyVary, stored, wait);
    const lease = await leases.acquire(key);
    if (lease.kind === 'held' && (await leases.waitForRelease(key))) {
      const filled = await this.#deps.stack.lookupLower(key);
      if (filled !== undefined && freshness(filled.entry, match.rule, this.#deps.now()) === 'fresh') {
        return { kind: 'peer', hit: filled, upstreamMs: null };
      }
    }
    if (lease.kind !== 'acquired') return this.#fetch(request, target, match, key, body, keyVary, stored, wait);
    let fetched: Fetched | undefined;
    try {
      fetched = await this.#fetch(request, target, match, key, body, keyVary, stored, wait);
      return fetched;
    } finally {
      // Waiters read Redis once the lease is gone, so it goes only after the entry is there.
      const storing = fetched?.kind === 'complete' ? fetched.storing : null;
      void (storing ?? Promise.resolve()).then(() => leases.release(key, lease.token));
    }
  }

  async #fetch(
    request: FastifyRequest,
    target: ProxyTarget,
    match: RuleMatch,
    key: string,
    body: Buffer | null,
    keyVary: ReadonlySet<string>,
    stored: CacheEntry | undefined,
    wait: boolean,
  ): Promise<Fetched> {
    const deps = this.#deps;
    // The entry is as old as its request: an invalidation after this instant must reject it.
    const requestedAt = deps.now();
    const started = performance.now();
    // The cache asks for the full response (the client's own validators are answered from it
    // afterwards), conditional on the stored entry's validators when there is one.
    const headers = withoutConditionals(forwardRequestHeaders(request.raw.rawHeaders, target.upstream.headerPlan, request.id));
    if (stored !== undefined) headers.push(...revalidationHeaders(stored.headers));
    const response = await deps.forwarder.request(
      target.upstream.name,
      { method: request.method, path: target.forwardPath, headers, body },
      { wait },
    );
    const upstreamMs = performance.now() - started;
    const responseHeaders = forwardResponseHeaders(response.headers);

    if (response.status === 304 && stored !== undefined) {
      response.body.resume();
      const merged = mergeNotModified(stored.headers, responseHeaders);
      const decision = decideStore(match.rule, stored.status, merged, keyVary);
      const storing = decision.store
        ? deps.stack.store(this.#entry(target, match, key, { status: stored.status, headers: merged, body: stored.body, requestedAt }, decision.ttlMs))
        : null;
      return { kind: 'complete', status: stored.status, headers: merged, body: stored.body, decision, upstreamMs, revalidated: true, failure: null, storing };
    }

    const chunks: Buffer[] = [];
    let size = 0;
    const iterator = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      chunks.push(next.value);
      size += next.value.length;
      if (size > match.rule.maxBodyBytes) {
        return { kind: 'oversize', status: response.status, headers: responseHeaders, head: chunks, rest: iterator, upstreamMs };
      }
    }
    const responseBody = Buffer.concat(chunks, size);
    const failure = classifyUpstreamResponse(response.status, responseHeaders, response.status === 403 ? responseBody.subarray(0, FAILURE_BODY_SNIPPET_BYTES) : undefined);
    const decision = decideStore(match.rule, response.status, responseHeaders, keyVary);
    const storing = decision.store
      ? deps.stack.store(this.#entry(target, match, key, { status: response.status, headers: responseHeaders, body: responseBody, requestedAt }, decision.ttlMs))
      : null;
    return { kind: 'complete', status: response.status, headers: responseHeaders, body: responseBody, decision, upstreamMs, revalidated: false, failure, storing };
  }

  #entry(
    target: ProxyTarget,
    match: RuleMatch,
    key: string,
    response: { status: number; headers: StoredHeaders; body: Buffer; requestedAt: number },
    ttlMs: number,
  ): CacheEntry {
    const { status, headers, body, requestedAt } = response;
    const now = requestedAt;
    const query = redactQuery(target.query, this.#deps.redactQueryParams);
    return {
      key,
      upstream: target.upstream.name,
      path: query === '' ? target.path : `${target.path}?${query}`,
      status,
      headers: storableResponseHeaders(headers),
      body,
      storedAt: now,
      expiresAt: now + ttlMs,
      staleUntil: now + ttlMs + staleWindowMs(match.rule, headers),
      tags: match.tags,
      scope: match.rule.scope,
    };
  }
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

/** Forwarded headers minus the client's conditional fields (flat name/value list). */
function withoutConditionals(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!CONDITIONAL_REQUEST_HEADERS.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

async function* concat(head: readonly Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    // The client may leave early: release the upstream body instead of leaving it to time out.
    await rest.return?.();
  }
}
