import type { QueryPairs } from './query.js';

/**
 * Methods a POST may name in an override. Salesforce documents `?_HttpMethod=PATCH` for clients
 * that cannot send PATCH (REST API, "Update a Record"); DELETE is honoured the same way, and
 * `X-HTTP-Method-Override` is the header form some clients and servers use.
 */
const OVERRIDABLE = new Set(['PATCH', 'PUT', 'DELETE']);

const QUERY_PARAMETER = '_httpmethod';

/**
 * The method a request means: a POST that names PATCH, PUT or DELETE in `_HttpMethod` (name and
 * value in any case; any repeat of the parameter counts, whichever one the upstream reads) or in
 * `X-HTTP-Method-Override` is that method for caching and invalidation. It is still forwarded
 * as sent. Reading an override the upstream ignores only costs extra invalidation and a bypassed
 * cache; missing one it honours would leave stale reads cached, so both forms are read.
 */
export function effectiveMethod(method: string, query: QueryPairs, overrideHeader: string | undefined): string {
  if (method !== 'POST') return method;
  for (const [name, value] of query) {
    if (name.length !== QUERY_PARAMETER.length || name.toLowerCase() !== QUERY_PARAMETER) continue;
    const named = overridden(value);
    if (named !== null) return named;
  }
  return (overrideHeader === undefined ? null : overridden(overrideHeader)) ?? method;
}

function overridden(value: string): string | null {
  const upper = value.trim().toUpperCase();
  return OVERRIDABLE.has(upper) ? upper : null;
}
