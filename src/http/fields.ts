/**
 * The ground floor for HTTP: reading header fields and the field values every layer parses
 * (`Connection`, `Cache-Control`, `Retry-After`, HTTP-dates). Pure; imports nothing of sidecache.
 */

/** Reads one request header as a single string (repeated values joined per RFC 9110 §5.3). */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Fields Node keeps the first of when a request repeats them (`IncomingMessage.headers`); keyed
 * values are read from that object, so forwarded ones are read the same way.
 */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** One field of a raw header list (name lower case) as `IncomingMessage.headers` holds it, joined. */
export function rawValue(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== name) continue;
    if (value === undefined) value = rawHeaders[i + 1]!;
    else if (FIRST_ONLY.has(name)) break;
    else value += `${name === 'cookie' ? '; ' : ', '}${rawHeaders[i + 1]!}`;
  }
  return value;
}

/** Field names listed in a `Connection` header, which are hop-by-hop for this message too. */
export function connectionTokens(value: string | string[] | undefined): Set<string> {
  const tokens = new Set<string>();
  if (value === undefined) return tokens;
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) tokens.add(name);
    }
  }
  return tokens;
}

/**
 * Parses `Cache-Control` into lower-case directive names mapped to their values, unquoted.
 * Commas inside quoted strings (`private="set-cookie, x-foo"`) do not split (RFC 9110 §5.6.4).
 * A repeated directive keeps its last value; `cacheControlList` keeps them all.
 */
export function parseCacheControl(value: string): Map<string, string> {
  return new Map(cacheControlList(value));
}

/** `Cache-Control` directives in order as [lower-case name, unquoted value] pairs, repeats kept. */
export function cacheControlList(value: string): Array<[string, string]> {
  const directives: Array<[string, string]> = [];
  for (const part of splitOutsideQuotes(value)) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    const raw = eq === -1 ? '' : part.slice(eq + 1).trim();
    directives.push([name, raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw]);
  }
  return directives;
}

function splitOutsideQuotes(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === '\\' && quoted) i++;
    else if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

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

/** A response field by name, whatever the case of the stored names. */
export function fieldAnyCase(headers: ResponseHeaders, name: string): string | readonly string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}
