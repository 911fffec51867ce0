import type { CacheOutcome } from './events.js';

/**
 * Checks and parses what the admin API's audit queries take as input (listing.ts, report.ts,
 * session-activity.ts); a bad input is an AuditQueryError naming the parameter.
 */

/** An input the caller got wrong; `param` names it, `expected` says what would have been right. */
export class AuditQueryError extends Error {
  readonly code = 'invalid_request';
  readonly param: string;
  readonly expected: string;

  constructor(param: string, expected: string) {
    super(`${param}: ${expected}`);
    this.name = 'AuditQueryError';
    this.param = param;
    this.expected = expected;
  }
}

export const CACHE_OUTCOMES = ['HIT', 'MISS', 'STALE', 'REVALIDATED', 'BYPASS'] as const satisfies readonly CacheOutcome[];
/** `NONE` selects rows with no cache outcome (requests that never reached the cache). */
export type CacheFilter = (typeof CACHE_OUTCOMES)[number] | 'NONE';

const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_WINDOW_MS = 400 * 86_400_000;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUS_CLASS = /^([1-5])xx$/i;

/** `404` or `'404'` → [404, 405); `'5xx'` → [500, 600). */
export function parseStatusFilter(value: number | string): { min: number; max: number } {
  const expected = 'expected an HTTP status (100-599) or a class such as 5xx';
  if (typeof value === 'string') {
    const cls = STATUS_CLASS.exec(value);
    if (cls !== null) return { min: Number(cls[1]) * 100, max: Number(cls[1]) * 100 + 100 };
    if (!/^\d{3}$/.test(value)) throw new AuditQueryError('status', expected);
    value = Number(value);
  }
  if (!Number.isInteger(value) || value < 100 || value > 599) throw new AuditQueryError('status', expected);
  return { min: value, max: value + 1 };
}

/** A page size: 1..MAX_LIMIT, default DEFAULT_LIMIT. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new AuditQueryError('limit', `expected an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

/** A time as ISO-8601 text for a bind parameter. */
export function isoTime(date: Date, param: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new AuditQueryError(param, 'expected a valid time');
  return date.toISOString();
}

const WINDOW_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `'90m'`, `'24h'`, `'7d'`, `'2w'` → milliseconds; anything else, zero, or beyond 400 days is refused. */
export function parseWindow(window: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(window);
  const ms = match === null ? NaN : Number(match[1]) * WINDOW_UNITS[match[2]!]!;
  if (!(ms > 0 && ms <= MAX_WINDOW_MS)) {
    throw new AuditQueryError('window', 'expected a duration such as 90m, 24h, 7d or 2w, greater than zero and at most 400d');
  }
  return ms;
}
