import { buildCacheKey, hashRequestBody } from '../cache/key.js';
import type { CacheRuleConfig } from '../config/types.js';
import { upstreamHeaderValue } from '../policy/negotiation.js';
import { canonicalQuery } from '../policy/query.js';
import { headerValue } from '../http/fields.js';
import { cacheableRequestHeaders, forwardRequestHeaders } from './headers.js';
import type { ProxyTarget } from './target.js';

type RequestHeaders = Record<string, string | string[] | undefined>;

/** The cache key of a cacheable request and the header names it varies on. */
export interface ReadKey {
  readonly key: string;
  readonly vary: readonly string[];
}

/**
 * The one place a request becomes a cache key, shared by the hit lane and the read-through:
 * two requests share an entry exactly when upstream, partition, method, path, canonical query,
 * the rule's vary headers (as sent upstream: see `upstreamHeaderValue`) and (for body-keyed
 * rules) the body hash agree. The key is a function of these raw inputs only, so the hit lane
 * may memoise it per partition, URL and raw vary values.
 */
export function readKeyFor(
  method: string,
  headers: RequestHeaders,
  target: ProxyTarget,
  rule: CacheRuleConfig,
  partition: string,
  body: Buffer | null,
): ReadKey {
  const vary = target.upstream.varyFor(rule);
  const mediaTypes = target.upstream.config.mediaTypes;
  const key = buildCacheKey({
    upstream: target.upstream.name,
    method,
    path: target.path,
    query: target.query === '' ? '' : canonicalQuery(target.query),
    vary: vary.map((name) => [name, upstreamHeaderValue(name, headerValue(headers, name), mediaTypes) ?? ''] as const),
    partition,
    bodyHash: body === null ? null : hashRequestBody(body, headerValue(headers, 'content-type'), headerValue(headers, 'content-encoding')),
  });
  return { key, vary };
}

/**
 * The headers a cacheable request is sent upstream with. API mode: what its key covers, with the
 * values it was keyed by (see `cacheableRequestHeaders`). Standards mode: every end-to-end field,
 * as the origin's `Vary` on each response names the ones that select it (RFC 9111 §4.1), and
 * the stored variant is keyed by them. `bodyKeyed`: the request body is part of the key.
 */
export function readRequestHeaders(rawHeaders: readonly string[], target: ProxyTarget, rule: CacheRuleConfig, requestId: string, bodyKeyed: boolean): string[] {
  const { upstream } = target;
  if (rule.freshness === 'origin') return forwardRequestHeaders(rawHeaders, upstream.cacheableHeaderPlan, requestId);
  return cacheableRequestHeaders(rawHeaders, upstream.cacheableHeaderPlan, requestId, { vary: upstream.varyFor(rule), mediaTypes: upstream.config.mediaTypes, bodyKeyed });
}
