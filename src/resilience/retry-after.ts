import { systemClock, type Clock } from './clock.js';

/** Response headers as undici gives them: lower-case names, repeated fields as arrays. */
export type ResponseHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface RetryAfterOptions {
  /** Longer waits are cut to this (a misconfigured upstream must not pause sidecache for a day). */
  readonly maxMs: number;
  /** Used when the header is absent or unparseable. */
  readonly defaultMs: number;
}

export interface RetryAfter {
  /** How long to wait from `now`, within [0, maxMs]. */
  readonly delayMs: number;
  /** delta: `Retry-After: 120`; date: an HTTP-date; default: absent or garbage. */
  readonly source: 'delta' | 'date' | 'default';
  /** True when the upstream asked for longer than `maxMs`. */
  readonly clamped: boolean;
}

export const RETRY_AFTER_DEFAULTS = { maxMs: 600_000, defaultMs: 30_000 } as const satisfies RetryAfterOptions;

/**
 * Reads a `Retry-After` value (RFC 9110 §10.2.3): `delay-seconds` (1*DIGIT) or an HTTP-date.
 * A date in the past means "now" (0). Anything else — negative or fractional numbers, dates in
 * no HTTP-date format, several differing values — gives `defaultMs`. Of repeated fields the
 * first is used.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number, options: RetryAfterOptions): RetryAfter {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim();
  let delayMs: number | null = null;
  let source: RetryAfter['source'] = 'default';
  if (text !== undefined && /^\d+$/.test(text)) {
    delayMs = Number(text) * 1000;
    source = 'delta';
  } else if (text !== undefined) {
    const at = parseHttpDate(text);
    if (at !== null) {
      delayMs = Math.max(0, at - now);
      source = 'date';
    }
  }
  if (delayMs === null) return { delayMs: Math.min(options.defaultMs, options.maxMs), source: 'default', clamped: false };
  const clamped = delayMs > options.maxMs;
  return { delayMs: clamped ? options.maxMs : delayMs, source, clamped };
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete forms recipients must accept.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

/**
 * An HTTP-date (RFC 9110 §5.6.7) as epoch milliseconds, or null. Strict on purpose: `Date.parse`
 * reads "1" or "tomorrow-ish" strings as dates, and reads asctime as local time.
 */
export function parseHttpDate(text: string, now: number = Date.now()): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) return utc(Number(m[3]), m[2]!, Number(m[1]), m.slice(4, 7));
  m = ASCTIME_DATE.exec(text);
  if (m !== null) return utc(Number(m[6]), m[1]!, Number(m[2]), m.slice(3, 6));
  m = RFC850_DATE.exec(text);
  if (m !== null) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits.
    const currentYear = new Date(now).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(m[3]);
    if (year > currentYear + 50) year -= 100;
    return utc(year, m[2]!, Number(m[1]), m.slice(4, 7));
  }
  return null;
}

function utc(year: number, monthName: string, day: number, time: readonly (string | undefined)[]): number | null {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const [hour, minute, second] = time.map(Number) as [number, number, number];
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls Feb 30 over into March; such a date is garbage, not a date.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/** A `Retry-After` value for our own 429/503 answers: whole seconds, rounded up, at least 1. */
export function retryAfterHeader(delayMs: number): string {
  return String(Math.max(1, Math.ceil(delayMs / 1000)));
}

/**
 * Per-upstream "do not call before" gate, set from 429 / 503 + `Retry-After` (and Salesforce's
 * request-limit 403). A later, shorter block never shortens an existing one.
 */
export class RetryAfterGate {
  readonly #now: () => number;
  #until = 0;
  #blocks = 0;

  constructor(clock: Pick<Clock, 'now'> = systemClock) {
    this.#now = () => clock.now();
  }

  /** No calls until `untilMs` (epoch ms). */
  blockUntil(untilMs: number): void {
    if (!Number.isFinite(untilMs) || untilMs <= this.#now()) return;
    this.#blocks += 1;
    if (untilMs > this.#until) this.#until = untilMs;
  }

  /** No calls for `delayMs` from now. */
  blockFor(delayMs: number): void {
    this.blockUntil(this.#now() + delayMs);
  }

  /** Milliseconds until calls may resume; 0 when they may go now. */
  blockedFor(now: number = this.#now()): number {
    return Math.max(0, this.#until - now);
  }

  /** Lifts the block (e.g. an admin action). */
  clear(): void {
    this.#until = 0;
  }

  stats(): { blockedUntil: number | null; blockedForMs: number; blocks: number } {
    const blockedForMs = this.blockedFor();
    return { blockedUntil: blockedForMs > 0 ? this.#until : null, blockedForMs, blocks: this.#blocks };
  }
}

/** What made a response count as an upstream failure. */
export type UpstreamFailureKind = 'server_error' | 'rate_limited' | 'request_limit_exceeded';

/** Bytes of a 403 body worth reading for `classifyUpstreamResponse` (Salesforce's error is ~100 B). */
export const FAILURE_BODY_SNIPPET_BYTES = 4096;

/** Whether the classifier wants the start of the body for this status (only 403 does). */
export function needsBodySnippet(status: number): boolean {
  return status === 403;
}

const SF_LIMIT_PATTERN = /"errorCode"\s*:\s*"REQUEST_LIMIT_EXCEEDED"/;

/**
 * Why this response is an upstream failure, or null when it is an answer to pass on or cache:
 * 5xx (server_error), 429 (rate_limited), or Salesforce's API-quota 403 whose JSON body is
 * `[{"message": …, "errorCode": "REQUEST_LIMIT_EXCEEDED"}]` (request_limit_exceeded). For a 403
 * without `bodySnippet` the answer is null: pass the first `FAILURE_BODY_SNIPPET_BYTES` bytes.
 */
export function classifyUpstreamResponse(status: number, headers: ResponseHeaders = {}, bodySnippet?: string | Uint8Array): UpstreamFailureKind | null {
  if (status >= 500 && status <= 599) return 'server_error';
  if (status === 429) return 'rate_limited';
  if (status === 403 && bodySnippet !== undefined && isSalesforceLimitBody(headers, bodySnippet)) return 'request_limit_exceeded';
  return null;
}

/** `classifyUpstreamResponse(…) !== null`. */
export function isUpstreamFailure(status: number, headers?: ResponseHeaders, bodySnippet?: string | Uint8Array): boolean {
  return classifyUpstreamResponse(status, headers, bodySnippet) !== null;
}

/**
 * How long to stop calling the upstream after this failure, or null for no pause (the breaker
 * deals with plain 5xx): 429 and the Salesforce limit always pause (`Retry-After`, else the
 * default); a 503 pauses only when it carries `Retry-After`.
 */
export function upstreamPauseMs(status: number, kind: UpstreamFailureKind | null, headers: ResponseHeaders, now: number, options: RetryAfterOptions): number | null {
  const value = headerValue(headers, 'retry-after');
  if (kind === 'rate_limited' || kind === 'request_limit_exceeded') return parseRetryAfter(value, now, options).delayMs;
  if (status === 503 && value !== undefined) return parseRetryAfter(value, now, options).delayMs;
  return null;
}

function isSalesforceLimitBody(headers: ResponseHeaders, snippet: string | Uint8Array): boolean {
  const contentType = headerValue(headers, 'content-type');
  const type = typeof contentType === 'string' ? contentType : contentType?.[0];
  if (type !== undefined && !/json/i.test(type)) return false;
  const text = typeof snippet === 'string' ? snippet : Buffer.from(snippet.buffer, snippet.byteOffset, snippet.byteLength).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // A snippet cut mid-document: look for the exact field instead.
    return SF_LIMIT_PATTERN.test(text);
  }
  const items = Array.isArray(body) ? body : [body];
  return items.some((item) => typeof item === 'object' && item !== null && (item as { errorCode?: unknown }).errorCode === 'REQUEST_LIMIT_EXCEEDED');
}

function headerValue(headers: ResponseHeaders, name: string): string | readonly string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}
