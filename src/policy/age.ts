import type { StoredHeaders } from '../cache/entry.js';
import { headerValue, parseHttpDate } from '../http/fields.js';
import type { ResponseDirectives } from './response-directives.js';

/** Statuses a cache may give heuristic freshness (RFC 9110 §15.1). */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Heuristic freshness: this fraction of the time since Last-Modified (RFC 9111 §4.2.2), at most a day. */
const HEURISTIC_FRACTION = 0.1;
const HEURISTIC_MAX_MS = 86_400_000;

/** When the cache sent the request and received the response head (epoch ms). */
export interface ExchangeTimes {
  readonly requestTime: number;
  readonly responseTime: number;
}

/**
 * How old the response already was when the cache sent its request, in ms: RFC 9111 §4.2.3's
 * `corrected_initial_age` less the response delay, so that `ageMs + (now - requestTime)` is the
 * section's `current_age`. Counts the upstream's `Age` and, through `Date`, its clock.
 */
export function initialAgeMs(headers: StoredHeaders, times: ExchangeTimes): number {
  const ageField = headerValue(headers, 'age')?.split(',')[0]?.trim();
  const ageValue = ageField !== undefined && /^\d+$/.test(ageField) ? Number(ageField) * 1000 : 0;
  const date = dateOf(headers, times.responseTime);
  const apparentAge = Math.max(0, times.responseTime - date);
  const responseDelay = Math.max(0, times.responseTime - times.requestTime);
  return Math.max(apparentAge - responseDelay, ageValue);
}

/**
 * The freshness lifetime in ms (RFC 9111 §4.2.1): `s-maxage`/`max-age`, else `Expires` minus
 * `Date` (an invalid `Expires` is already expired), else a heuristic for `Last-Modified`
 * responses of heuristically cacheable statuses or marked `public` (§4.2.2). Null: none at all.
 */
export function freshnessLifetimeMs(directives: ResponseDirectives, headers: StoredHeaders, status: number, responseTime: number): number | null {
  if (directives.maxAgeMs !== null) return directives.maxAgeMs;
  const expires = headerValue(headers, 'expires');
  if (expires !== undefined) {
    const at = parseHttpDate(expires.trim());
    return at === null ? 0 : Math.max(0, at - dateOf(headers, responseTime));
  }
  if (!HEURISTICALLY_CACHEABLE.has(status) && !directives.public) return null;
  const lastModified = headerValue(headers, 'last-modified');
  const modified = lastModified === undefined ? null : parseHttpDate(lastModified.trim());
  if (modified === null) return null;
  return Math.min(HEURISTIC_MAX_MS, Math.max(0, Math.floor((dateOf(headers, responseTime) - modified) * HEURISTIC_FRACTION)));
}

/** The response's `Date`, or when it arrived when it has none (RFC 9110 §6.6.1). */
function dateOf(headers: StoredHeaders, responseTime: number): number {
  const date = headerValue(headers, 'date');
  return (date === undefined ? null : parseHttpDate(date.trim())) ?? responseTime;
}
