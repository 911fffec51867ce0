import type { StoredHeaders } from '../cache/entry.js';
import { headerValue, parseHttpDate } from '../http/fields.js';

/**
 * How a GET with `Range` is answered from a complete stored response (RFC 9110 §14, RFC 9111
 * §3.3): the whole 200, one 206 part (`start`..`end` inclusive), or 416.
 */
export type RangeAnswer =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeAnswer = Object.freeze({ kind: 'full' });
const UNSATISFIABLE: RangeAnswer = Object.freeze({ kind: 'unsatisfiable' });

type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * The answer to a request's `Range` over a `length`-byte 200 body. The header is ignored (full
 * 200) when it is not a valid `bytes` range set (§14.2), when `If-Range` does not match (§13.1.5),
 * or when several ranges do not join into one: a multipart/byteranges answer is allowed but not
 * required, and the whole body answers every range.
 */
export function rangeAnswer(method: string, request: RequestHeaders, status: number, stored: StoredHeaders, length: number): RangeAnswer {
  if (method !== 'GET' || status !== 200) return FULL;
  const range = headerValue(request, 'range');
  if (range === undefined) return FULL;
  const ifRange = headerValue(request, 'if-range');
  if (ifRange !== undefined && !ifRangeMatches(ifRange.trim(), stored)) return FULL;
  const specs = parseByteRanges(range);
  if (specs === null) return FULL;
  const parts: Array<[number, number]> = [];
  for (const [first, last] of specs) {
    if (first === null) {
      // A suffix: the last `last` bytes.
      if (last! > 0 && length > 0) parts.push([Math.max(0, length - last!), length - 1]);
    } else if (first < length) {
      parts.push([first, last === null ? length - 1 : Math.min(last, length - 1)]);
    }
  }
  if (parts.length === 0) return UNSATISFIABLE;
  parts.sort((a, b) => a[0] - b[0]);
  let [start, end] = parts[0]!;
  for (const [from, to] of parts.slice(1)) {
    if (from > end + 1) return FULL;
    end = Math.max(end, to);
  }
  return { kind: 'partial', start, end };
}

/** The `bytes` range specs as [first, last] (null first: a suffix length in last), or null when invalid. */
function parseByteRanges(value: string): Array<[number | null, number | null]> | null {
  const match = /^\s*bytes\s*=(.*)$/i.exec(value);
  if (match === null) return null;
  const specs: Array<[number | null, number | null]> = [];
  for (const element of match[1]!.split(',')) {
    const spec = element.trim();
    if (spec === '') continue;
    const parts = /^(\d*)-(\d*)$/.exec(spec);
    if (parts === null || (parts[1] === '' && parts[2] === '')) return null;
    const first = parts[1] === '' ? null : Number(parts[1]);
    const last = parts[2] === '' ? null : Number(parts[2]);
    if (first !== null && last !== null && last < first) return null;
    specs.push([first, last]);
  }
  return specs.length === 0 ? null : specs;
}

/**
 * `If-Range` (RFC 9110 §13.1.5): an entity tag must equal the stored strong ETag; a date must
 * equal a `Last-Modified` that is strong, i.e. at least a second before the response's `Date`
 * (§8.8.2.2). Weak tags never match.
 */
function ifRangeMatches(value: string, stored: StoredHeaders): boolean {
  if (value.startsWith('"') || value.startsWith('W/')) {
    const etag = headerValue(stored, 'etag')?.trim();
    return etag !== undefined && !value.startsWith('W/') && !etag.startsWith('W/') && value === etag;
  }
  const since = parseHttpDate(value);
  const lastModified = headerValue(stored, 'last-modified');
  const modified = lastModified === undefined ? null : parseHttpDate(lastModified.trim());
  if (since === null || modified === null || since !== modified) return false;
  const date = headerValue(stored, 'date');
  const sent = date === undefined ? null : parseHttpDate(date.trim());
  return sent !== null && sent - modified >= 1000;
}
