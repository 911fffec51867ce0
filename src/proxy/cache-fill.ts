import type { CacheEntry, StoredHeaders } from '../cache/entry.js';
import type { FillLeases } from '../cache/fill-lease.js';
import { ownedBytes } from '../cache/owned-bytes.js';
import type { TierHit, TierStack } from '../cache/stack.js';
import { CONDITIONAL_REQUEST_HEADERS, mergeNotModified, notModifiedSelects, revalidationHeaders } from '../policy/conditional.js';
import { freshness } from '../policy/freshness.js';
import { initialAgeMs } from '../policy/age.js';
import { STORED_AGE_FIELD, VARIANT_FIELD } from '../policy/stored-fields.js';
import { selectingFields, selectingValues } from '../policy/vary.js';
import { variantDigest, variantKey } from '../cache/key.js';
import { rawValue } from '../http/fields.js';
import { redactQuery } from '../policy/redaction.js';
import type { RuleMatch } from '../policy/rules.js';
import { decideStore, type StoreCandidate, type StoreDecision } from '../policy/storability.js';
import { classifyUpstreamResponse, FAILURE_BODY_SNIPPET_BYTES, type UpstreamFailureKind } from '../resilience/retry-after.js';
import type { Forwarder } from './forwarder.js';
import { forwardResponseHeaders, storableResponseHeaders } from './headers.js';
import { readRequestHeaders } from './read-key.js';
import type { ProxyTarget } from './target.js';

type StoredDecision = Extract<StoreDecision, { store: true }>;

/** A complete upstream response, with when its request was sent. */
interface FetchedResponse {
  readonly status: number;
  readonly headers: StoredHeaders;
  readonly body: Buffer;
  readonly requestedAt: number;
}

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
      /** The response's age when the request was sent (RFC 9111 §4.2.3), and when that was. */
      readonly ageMs: number;
      readonly requestedAt: number;
      /**
       * Standards mode, a response with `Vary`: the digest of the selecting values it was fetched
       * with (`*` for `Vary: *`); requests that joined the flight with other values cannot share it.
       */
      readonly variant: string | null;
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

/** Everything needed to fetch one key from the upstream, without the client's request object. */
export interface FillPlan {
  readonly method: string;
  /** The client's raw request headers (flat name/value list); only what the key covers is forwarded (`readRequestHeaders`). */
  readonly rawHeaders: readonly string[];
  readonly requestId: string;
  readonly target: ProxyTarget;
  readonly match: RuleMatch;
  readonly key: string;
  /** The request body, when the rule keys on it. */
  readonly body: Buffer | null;
  /** Request headers the key varies on: a response varying on others is not stored. */
  readonly keyVary: ReadonlySet<string>;
}

export interface CacheFillerDeps {
  readonly stack: TierStack;
  readonly forwarder: Forwarder;
  readonly redactQueryParams: ReadonlySet<string>;
  readonly now: () => number;
  /** Cross-instance single flight (Redis); absent without Redis. */
  readonly leases?: FillLeases | null;
  /** The secret variant digests are keyed with (see `variantDigest`). */
  readonly keySecret: () => string;
}

/**
 * Fetches a key from the upstream for the cache and stores what may be stored: conditionally
 * when a stored entry has validators (a 304 renews it), and at most once across instances when
 * Redis holds fill leases.
 */
export class CacheFiller {
  readonly #deps: CacheFillerDeps;

  constructor(deps: CacheFillerDeps) {
    this.#deps = deps;
  }

  /**
   * Fetches the key, at most once across instances: with Redis, the first instance to miss takes the
   * key's fill lease and fetches; the others wait for it and read its entry from Redis. When the
   * holder stored nothing (an error, an uncacheable answer) or Redis is away, each fetches itself.
   */
  async fetchOnce(plan: FillPlan, stored: CacheEntry | undefined, wait: boolean): Promise<Fetched> {
    const { key, match } = plan;
    const leases = this.#deps.leases;
    if (leases === null || leases === undefined) return this.#fetch(plan, stored, wait);
    const lease = await leases.acquire(key);
    if (lease.kind === 'held' && (await leases.waitForRelease(key))) {
      const stored = await this.#deps.stack.lookupLower(key);
      const filled = stored === undefined ? undefined : await this.chooseVariant(stored, plan, (name) => rawValue(plan.rawHeaders, name));
      if (filled !== undefined && freshness(filled.entry, match.rule, this.#deps.now()) === 'fresh') {
        return { kind: 'peer', hit: filled, upstreamMs: null };
      }
    }
    if (lease.kind !== 'acquired') return this.#fetch(plan, stored, wait);
    let fetched: Fetched | undefined;
    try {
      fetched = await this.#fetch(plan, stored, wait);
      return fetched;
    } finally {
      // Waiters read Redis once the lease is gone, so it goes only after the entry is there.
      const storing = fetched?.kind === 'complete' ? fetched.storing : null;
      void (storing ?? Promise.resolve()).then(() => leases.release(key, lease.token));
    }
  }

  /**
   * Standards mode: the stored variant that answers a request (RFC 9111 §4.1). A varying entry
   * found under the request's key answers when its selecting values match the request's, else
   * the variant stored under `<key>~<digest>` does; `Vary: *` never matches.
   */
  async chooseVariant(hit: TierHit, plan: Pick<FillPlan, 'key' | 'match'>, valueOf: (name: string) => string | undefined): Promise<TierHit | undefined> {
    if (plan.match.rule.freshness !== 'origin') return hit;
    const fields = selectingFields(hit.entry.headers);
    if (fields.length === 0) return hit;
    if (fields[0] === '*') return undefined;
    const digest = this.variantOf(fields, valueOf);
    if (hit.entry.headers[VARIANT_FIELD] === digest) return hit;
    const key = variantKey(plan.key, digest);
    const { stack } = this.#deps;
    const variant = stack.peekMemory(key) ?? (await stack.lookupLower(key));
    return variant?.entry.headers[VARIANT_FIELD] === digest ? variant : undefined;
  }

  /** The digest of a request's values of the selecting fields (`*` for `Vary: *`). */
  variantOf(fields: readonly string[], valueOf: (name: string) => string | undefined): string {
    if (fields[0] === '*') return '*';
    return variantDigest(this.#deps.keySecret(), selectingValues(fields, valueOf));
  }

  async #fetch(plan: FillPlan, stored: CacheEntry | undefined, wait: boolean): Promise<Fetched> {
    const { target, match, body, keyVary } = plan;
    const deps = this.#deps;
    // The entry is as old as its request: an invalidation after this instant must reject it.
    const requestedAt = deps.now();
    const started = performance.now();
    // The cache asks for the full response (the client's own validators and range are answered
    // from it afterwards), conditional on the stored entry's validators when there is one.
    const headers = forCacheFill(readRequestHeaders(plan.rawHeaders, target, match.rule, plan.requestId, body !== null));
    if (stored !== undefined) headers.push(...revalidationHeaders(stored.headers));
    const response = await deps.forwarder.request(
      target.upstream.name,
      { method: plan.method, path: target.forwardPath, headers, body },
      { wait },
    );
    const upstreamMs = performance.now() - started;
    const times = { requestTime: requestedAt, responseTime: deps.now() };
    const responseHeaders = forwardResponseHeaders(response.headers);
    const candidate = { keyVary, times, authorized: rawValue(plan.rawHeaders, 'authorization') !== undefined };

    if (response.status === 304 && stored !== undefined) {
      response.body.resume();
      // A 304 about another representation renews nothing: ask again, unconditionally.
      if (!notModifiedSelects(stored.headers, responseHeaders)) return this.#fetch(plan, undefined, wait);
      const merged = mergeNotModified(stored.headers, responseHeaders);
      const kept = this.#keep(plan, { status: stored.status, headers: merged, body: stored.body, requestedAt }, candidate);
      return { kind: 'complete', status: stored.status, headers: merged, body: stored.body, upstreamMs, revalidated: true, failure: null, requestedAt, ...kept };
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
    const responseBody = ownedBytes(chunks, size);
    const failure = classifyUpstreamResponse(response.status, responseHeaders, response.status === 403 ? responseBody.subarray(0, FAILURE_BODY_SNIPPET_BYTES) : undefined);
    const kept = this.#keep(plan, { status: response.status, headers: responseHeaders, body: responseBody, requestedAt }, candidate);
    return { kind: 'complete', status: response.status, headers: responseHeaders, body: responseBody, upstreamMs, revalidated: false, failure, requestedAt, ...kept };
  }

  /** Decides whether the response is stored, stores it if so, and works out its age and variant once. */
  #keep(plan: FillPlan, response: FetchedResponse, candidate: Omit<StoreCandidate, 'status' | 'headers'>) {
    const { status, headers } = response;
    const decision = decideStore(plan.match.rule, { ...candidate, status, headers });
    const variant = this.#variantFetched(plan, headers);
    const storing = decision.store ? this.#store(plan, response, decision, variant) : null;
    const ageMs = decision.store ? decision.ageMs : initialAgeMs(headers, candidate.times);
    return { decision, storing, ageMs, variant };
  }

  #variantFetched(plan: FillPlan, headers: StoredHeaders): string | null {
    if (plan.match.rule.freshness !== 'origin') return null;
    const fields = selectingFields(headers);
    return fields.length === 0 ? null : this.variantOf(fields, (name) => rawValue(plan.rawHeaders, name));
  }

  /** Stores the response; a varying one (standards mode) also under its variant's key. */
  #store(plan: FillPlan, response: FetchedResponse, decision: StoredDecision, variant: string | null): Promise<void> {
    const entry = this.#entry(plan, response, decision);
    if (variant === null) return this.#deps.stack.store(entry);
    const varied = { ...entry, headers: { ...entry.headers, [VARIANT_FIELD]: variant } };
    const { stack } = this.#deps;
    return Promise.all([stack.store(varied), stack.store({ ...varied, key: variantKey(plan.key, variant) })]).then(() => undefined);
  }

  #entry(plan: FillPlan, response: FetchedResponse, decision: StoredDecision): CacheEntry {
    const { target, match, key } = plan;
    const { status, headers, body, requestedAt } = response;
    const now = requestedAt;
    const query = redactQuery(target.query, this.#deps.redactQueryParams);
    const stored = storableResponseHeaders(headers);
    for (const name of decision.withheld) delete stored[name];
    // RFC 9110 §6.6.1: a response cached without a Date gets the time it was received.
    if (match.rule.freshness === 'origin' && stored['date'] === undefined) stored['date'] = new Date(now).toUTCString();
    const ageSeconds = Math.floor(decision.ageMs / 1000);
    if (ageSeconds > 0) stored[STORED_AGE_FIELD] = String(ageSeconds);
    const expiresAt = now + decision.ttlMs;
    return {
      key,
      upstream: target.upstream.name,
      path: query === '' ? target.path : `${target.path}?${query}`,
      status,
      headers: stored,
      body,
      storedAt: now,
      expiresAt,
      staleUntil: Math.max(expiresAt, now) + decision.keepMs,
      tags: match.tags,
      scope: match.rule.scope,
    };
  }
}

/** Client request fields a fill never sends: the cache's own validators replace them, and it fetches whole responses. */
const NOT_SENT_ON_FILL: ReadonlySet<string> = new Set([...CONDITIONAL_REQUEST_HEADERS, 'range']);

/** Forwarded headers minus the client's conditional and range fields (flat name/value list). */
function forCacheFill(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!NOT_SENT_ON_FILL.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}
