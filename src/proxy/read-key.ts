import { buildCacheKey, hashRequestBody } from '../cache/key.js';
import type { CacheRuleConfig } from '../config/types.js';
import { canonicalQuery } from '../policy/query.js';
import { headerValue } from './headers.js';
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
 * the rule's vary headers and (for body-keyed rules) the body hash agree.
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
  const key = buildCacheKey({
    upstream: target.upstream.name,
    method,
    path: target.path,
    query: target.queryPairs.length === 0 ? '' : canonicalQuery(target.queryPairs),
    vary: vary.map((name) => [name, headerValue(headers, name) ?? ''] as const),
    partition,
    bodyHash: body === null ? null : hashRequestBody(body, headerValue(headers, 'content-type')),
  });
  return { key, vary };
}
