/**
 * Label values with cardinality bounded by code or config: metrics never carry a path, key,
 * session, user or token, and these functions are the only way a request's data becomes a label.
 */

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Built once: labels are worked out on every request, and a constant string compares by identity. */
const STATUS_CLASSES = Array.from({ length: 10 }, (_, i) => `${i}xx`);
const CACHE_LABELS = new Map<string, string>();

/** The request method, or `OTHER` for the long tail (PROPFIND, custom verbs, …). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

/** `1xx` … `9xx` (600-999 are statuses too, RFC 9110 §15); `error` when no response arrived (connection failure, timeout). */
export function statusClass(status: number | null): string {
  if (status === null || status < 100 || status > 999) return 'error';
  return STATUS_CLASSES[Math.floor(status / 100)]!;
}

/** A configured upstream name, or `none` for requests refused before routing. */
export function upstreamLabel(upstream: string | null): string {
  return upstream ?? 'none';
}

/** The cache outcome in lower case; `none` when the request never reached the cache (refusals, errors). */
export function cacheLabel(outcome: string | null): string {
  if (outcome === null) return 'none';
  let label = CACHE_LABELS.get(outcome);
  if (label === undefined) {
    label = outcome.toLowerCase();
    // Outcomes are a handful of constants; the bound only guards against a caller passing data.
    if (CACHE_LABELS.size < 64) CACHE_LABELS.set(outcome, label);
  }
  return label;
}
