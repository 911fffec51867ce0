import type { StoredHeaders } from '../cache/entry.js';
import { STORED_AGE_FIELD } from './stored-fields.js';
import { headerValue } from '../http/fields.js';

/** Request header fields that make a request conditional (RFC 9110 §13.1). */
export const CONDITIONAL_REQUEST_HEADERS: ReadonlySet<string> = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range']);

/** Header fields a 304 carries when the 200 would have (RFC 9110 §15.4.5). */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified'];

/** Fields a 304 must not overwrite in the stored response (they describe the stored body). */
const KEEP_ON_UPDATE = new Set(['content-length', 'content-encoding', 'content-type', 'transfer-encoding', 'content-range']);

/** `If-None-Match` / `If-Modified-Since` for refreshing a stored response; empty without validators. */
export function revalidationHeaders(stored: StoredHeaders): string[] {
  const out: string[] = [];
  const etag = headerValue(stored, 'etag');
  if (etag !== undefined) out.push('if-none-match', etag);
  const lastModified = headerValue(stored, 'last-modified');
  if (lastModified !== undefined) out.push('if-modified-since', lastModified);
  return out;
}

/**
 * The stored headers updated from a 304 (RFC 9111 §3.2), body-describing fields kept. The stored
 * age goes: the updated response is as old as the 304 says.
 */
export function mergeNotModified(stored: StoredHeaders, notModified: StoredHeaders): StoredHeaders {
  const merged: StoredHeaders = { ...stored };
  delete merged[STORED_AGE_FIELD];
  for (const name in notModified) {
    if (!KEEP_ON_UPDATE.has(name)) merged[name] = notModified[name]!;
  }
  return merged;
}

/**
 * Whether a 304 the cache got for its own conditional request selects the stored response for
 * update (RFC 9111 §4.3.4): its strong `ETag` must be the stored strong one, a weak one must
 * match weakly, and without an `ETag` its `Last-Modified` must be the stored one. A 304 naming no
 * validator at all is taken to answer the validators the cache sent (many origins omit them,
 * though RFC 9110 §15.4.5 asks for them). False means the origin answered about another
 * representation: the stored one must not be renewed from it.
 */
export function notModifiedSelects(stored: StoredHeaders, notModified: StoredHeaders): boolean {
  const etag = headerValue(notModified, 'etag')?.trim();
  if (etag !== undefined) {
    const storedETag = headerValue(stored, 'etag')?.trim();
    if (storedETag === undefined) return false;
    return etag.startsWith('W/') ? opaqueTag(etag) === opaqueTag(storedETag) : etag === storedETag;
  }
  const lastModified = headerValue(notModified, 'last-modified');
  if (lastModified === undefined) return true;
  const storedLastModified = headerValue(stored, 'last-modified');
  return storedLastModified !== undefined && Date.parse(lastModified) === Date.parse(storedLastModified);
}

/**
 * Whether a client's conditional GET/HEAD is satisfied by a stored response, so it may be
 * answered 304 (RFC 9110 §13.1.2 and §13.1.3): `If-None-Match` by weak comparison, else
 * `If-Modified-Since` against `Last-Modified`. Only 200 responses are ever answered 304.
 */
export function notModified(
  method: string,
  request: Record<string, string | string[] | undefined>,
  status: number,
  stored: StoredHeaders,
): boolean {
  if ((method !== 'GET' && method !== 'HEAD') || status !== 200) return false;
  const ifNoneMatch = headerValue(request, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const etag = headerValue(stored, 'etag');
    if (etag === undefined) return false;
    if (ifNoneMatch.trim() === '*') return true;
    const current = opaqueTag(etag);
    return ifNoneMatch.split(',').some((candidate) => opaqueTag(candidate) === current);
  }
  const ifModifiedSince = headerValue(request, 'if-modified-since');
  const lastModified = headerValue(stored, 'last-modified');
  if (ifModifiedSince === undefined || lastModified === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  const modified = Date.parse(lastModified);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** The headers a 304 answer carries, taken from the stored response. */
export function notModifiedHeaders(stored: StoredHeaders): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = stored[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Weak comparison: the opaque tag without the `W/` prefix (RFC 9110 §8.8.3.2). */
function opaqueTag(tag: string): string {
  const trimmed = tag.trim();
  return trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed;
}
