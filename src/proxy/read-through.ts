import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { isFresh, type CacheEntry, type StoredHeaders } from '../cache/entry.js';
import { buildCacheKey, cachePartition, hashRequestBody } from '../cache/key.js';
import type { TierStack } from '../cache/stack.js';
import { canonicalQuery, redactQuery } from '../policy/query.js';
import type { RuleMatch } from '../policy/rules.js';
import { clientDirectives, decideStore, type StoreDecision } from '../policy/storability.js';
import { hasRequestBody, readBody } from './body.js';
import type { Forwarder } from './forwarder.js';
import { forwardRequestHeaders, forwardResponseHeaders, headerValue, storableResponseHeaders } from './headers.js';
import { passThrough, type BypassReason } from './pass-through.js';
import { sendEntry, setCacheHeaders, setHeaders } from './respond.js';
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
}

/** Serves a cacheable request: key → tiers → single-flight upstream fetch → store → respond. */
export class ReadThrough {
  readonly #deps: ReadThroughDeps;

  constructor(deps: ReadThroughDeps) {
    this.#deps = deps;
  }

  async serve(request: FastifyRequest, reply: FastifyReply, target: ProxyTarget, match: RuleMatch): Promise<FastifyReply> {
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

    // 3. Look in the tiers, unless the client asked for a refetch.
    const refresh = directives.noCache && target.upstream.config.clientNoCache === 'refresh';
    if (!refresh) {
      const hit = deps.stack.peekMemory(key) ?? (await deps.stack.lookupLower(key));
      if (hit !== undefined && isFresh(hit.entry, deps.now())) {
        record.cache = 'HIT';
        record.tier = hit.tier;
        deps.onHit?.(key);
        return sendEntry(reply, hit.entry, hit.tier, deps.now());
      }
    }

    // 4. Miss: one upstream call per key, however many requests are waiting for it.
    const flight = deps.flights.run(key, () => this.#fetch(request, target, match, key, body, new Set(vary)));
    const fetched = await flight.result;
    record.cache = 'MISS';
    record.upstreamMs = fetched.upstreamMs;
    const fwd = refresh ? 'fwd=request' : 'fwd=uri-miss';

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
    reply.code(fetched.status);
    setHeaders(reply, fetched.headers, false);
    const stored = fetched.decision.store ? 'stored' : `detail=${fetched.decision.reason}`;
    const collapsed = flight.leader ? '' : '; collapsed';
    setCacheHeaders(reply, 'MISS', `${fwd}; fwd-status=${fetched.status}${collapsed}; ${stored}`);
    return reply.send(fetched.body);
  }

  #bypass(request: FastifyRequest, reply: FastifyReply, target: ProxyTarget, reason: BypassReason, body?: Buffer | null) {
    return passThrough(this.#deps.forwarder, request, reply, target, {
      reason,
      maxBodyBytes: this.#deps.server.maxRequestBodyBytes,
      body,
    });
  }

  async #fetch(
    request: FastifyRequest,
    target: ProxyTarget,
    match: RuleMatch,
    key: string,
    body: Buffer | null,
    keyVary: ReadonlySet<string>,
  ): Promise<Fetched> {
    const deps = this.#deps;
    // The entry is as old as its request: an invalidation after this instant must reject it.
    const requestedAt = deps.now();
    const started = performance.now();
    const response = await deps.forwarder.request(target.upstream.name, {
      method: request.method,
      path: target.forwardPath,
      headers: forwardRequestHeaders(request.raw.rawHeaders, target.upstream.headerPlan, request.id),
      body,
    });
    const upstreamMs = performance.now() - started;
    const headers = forwardResponseHeaders(response.headers);

    const chunks: Buffer[] = [];
    let size = 0;
    const iterator = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      chunks.push(next.value);
      size += next.value.length;
      if (size > match.rule.maxBodyBytes) {
        return { kind: 'oversize', status: response.status, headers, head: chunks, rest: iterator, upstreamMs };
      }
    }
    const responseBody = Buffer.concat(chunks, size);
    const decision = decideStore(match.rule, response.status, headers, keyVary);
    if (decision.store) {
      deps.stack.store(this.#entry(target, match, key, { status: response.status, headers, body: responseBody, requestedAt }, decision.ttlMs));
    }
    return { kind: 'complete', status: response.status, headers, body: responseBody, decision, upstreamMs };
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
      staleUntil: now + ttlMs,
      tags: match.tags,
      scope: match.rule.scope,
    };
  }
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
