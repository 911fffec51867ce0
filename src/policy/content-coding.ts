/**
 * Content-coding negotiation (RFC 9110 §8.4 and §12.5.3), pure. The cache stores one entry per
 * resource in the coding the upstream chose; these functions decide, per client, whether that
 * body goes out as it is, re-coded, or not at all, and what the response head then says.
 */
import type { StoredHeaders } from '../cache/entry.js';
import { cacheControlList, headerValue } from '../http/fields.js';

/** The codings the proxy can produce for a client; `identity` is no coding. */
export type ProducedCoding = 'gzip' | 'br' | 'identity';

/** What to do with a stored body for one client. */
export type CodingChoice =
  | { readonly kind: 'as-is' }
  | { readonly kind: 'transcode'; readonly to: ProducedCoding }
  /** The client refuses every coding the proxy can produce (406). */
  | { readonly kind: 'none' };

/** The `Accept-Encoding` the proxy sends on cacheable requests: codings it can decode. */
export const UPSTREAM_ACCEPT_ENCODING = 'gzip, br';

/** Which codings a client accepts, and how much it prefers each. */
export interface AcceptedCodings {
  /** The qvalue of a coding (lower case, `x-gzip` read as `gzip`); 0 when not acceptable. */
  weight(coding: string): number;
}

/**
 * Unlisted `identity` stays acceptable (§12.5.3) but is preferred least, below any listed coding.
 * A weight, not a flag, so one comparison ranks it.
 */
const UNLISTED_IDENTITY = 0.0001;

/** Ties go to the first: gzip is the cheaper encoder and every decoding client has it. */
const PRODUCIBLE: readonly ProducedCoding[] = ['gzip', 'br', 'identity'];

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Accepts `identity` only: what an absent or empty `Accept-Encoding` gets. */
export const IDENTITY_ONLY: AcceptedCodings = { weight: (coding) => (coding === 'identity' ? 1 : 0) };

/**
 * Reads an `Accept-Encoding` value. An absent header is read as identity only: RFC 9110 says any
 * coding is then acceptable, but clients that send none (curl without `--compressed`, many
 * scripts) cannot decode one, so caches and servers send them identity. An empty value means
 * identity only (§12.5.3). An element with a malformed weight is ignored; a coding listed twice
 * keeps its first weight.
 */
export function parseAcceptEncoding(header: string | undefined): AcceptedCodings {
  if (header === undefined || header.trim() === '') return IDENTITY_ONLY;
  const weights = new Map<string, number>();
  for (const element of header.split(',')) {
    const [rawCoding = '', ...params] = element.split(';');
    const coding = canonicalCoding(rawCoding);
    if (coding === '' || weights.has(coding)) continue;
    let weight = 1;
    let valid = true;
    for (const param of params) {
      const match = /^\s*q\s*=\s*(\S*)\s*$/i.exec(param);
      if (match === null || !QVALUE.test(match[1]!)) valid = false;
      else weight = Number(match[1]);
    }
    if (valid) weights.set(coding, weight);
  }
  const star = weights.get('*');
  return {
    weight(coding) {
      const listed = weights.get(coding);
      if (listed !== undefined) return listed;
      if (star !== undefined) return star;
      return coding === 'identity' ? UNLISTED_IDENTITY : 0;
    },
  };
}

/** The codings applied to a body, in the order they were applied; empty for none (identity). */
export function contentCodings(headers: StoredHeaders): readonly string[] {
  const value = headers['content-encoding'];
  if (value === undefined) return [];
  const codings: string[] = [];
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const coding = canonicalCoding(part);
    if (coding !== '' && coding !== 'identity') codings.push(coding);
  }
  return codings;
}

/** Whether the client can read a body with these codings exactly as it is stored. */
export function acceptsAsIs(accepted: AcceptedCodings, codings: readonly string[]): boolean {
  if (codings.length === 0) return accepted.weight('identity') > 0;
  for (const coding of codings) if (accepted.weight(coding) <= 0) return false;
  return true;
}

/**
 * How a body stored with `codings` reaches a client: as it is whenever the client accepts that
 * (even if it prefers another coding: recoding a body only to save a few bytes costs CPU on
 * every variant), else in the produced coding it weighs highest, else refused. An empty body
 * has nothing to decode and always goes as it is, and so does a body whose response says
 * `no-transform` (see `forbidsTransform`).
 */
export function chooseCoding(accepted: AcceptedCodings, codings: readonly string[], bodyLength: number, noTransform = false): CodingChoice {
  if (bodyLength === 0 || noTransform || acceptsAsIs(accepted, codings)) return { kind: 'as-is' };
  let best: ProducedCoding | null = null;
  let bestWeight = 0;
  for (const coding of PRODUCIBLE) {
    const weight = accepted.weight(coding);
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best === null ? { kind: 'none' } : { kind: 'transcode', to: best };
}

/**
 * Whether the response's `Cache-Control` says `no-transform`: an intermediary MUST NOT change
 * its content (RFC 9110 §7.7), and a changed content coding is a changed content. Such a body goes
 * out as the upstream sent it, even to a client whose `Accept-Encoding` leaves its coding out:
 * that field's "send no coding" is a SHOULD of the origin's (§12.5.3), the origin chose this
 * coding for the cache's own request and forbade changing it. Only `Cache-Control` counts: the
 * targeted fields (RFC 9213) address caching, not transformation.
 */
export function forbidsTransform(headers: StoredHeaders): boolean {
  const value = headerValue(headers, 'cache-control');
  return value !== undefined && cacheControlList(value).some(([name]) => name === 'no-transform');
}

/**
 * The `Vary` value of a response whose coding was chosen by `Accept-Encoding`: the stored one
 * with `Accept-Encoding` added once (left alone when it is `*`, which already covers it).
 */
export function varyWithAcceptEncoding(vary: string | readonly string[] | undefined): string {
  const value = vary === undefined ? '' : typeof vary === 'string' ? vary : vary.join(', ');
  const names = value.split(',').map((name) => name.trim().toLowerCase());
  if (names.includes('accept-encoding') || names.includes('*')) return value;
  return value.trim() === '' ? 'Accept-Encoding' : `${value}, Accept-Encoding`;
}

/** Fields that describe the stored bytes and are wrong for a recoded body. */
const CODED_BYTES_FIELDS = new Set(['content-encoding', 'content-length', 'content-digest', 'content-md5']);

/**
 * The head of a recoded body: the stored fields with `Content-Encoding` set to the produced coding
 * (none for identity), the byte-describing fields dropped, `Vary: Accept-Encoding`, and a weak
 * ETag. The recoded bytes are another representation of the same content, so a strong validator
 * would claim a byte equality that does not hold (RFC 9110 §8.8.1); nginx weakens it the same way
 * when it compresses. `If-None-Match` compares weakly, so the weakened tag still validates.
 */
export function transcodedHeaders(headers: StoredHeaders, to: ProducedCoding): StoredHeaders {
  const out: StoredHeaders = {};
  for (const name in headers) {
    if (!CODED_BYTES_FIELDS.has(name)) out[name] = headers[name]!;
  }
  if (to !== 'identity') out['content-encoding'] = to;
  out['vary'] = varyWithAcceptEncoding(headers['vary']);
  const etag = headers['etag'];
  if (typeof etag === 'string') out['etag'] = weakETag(etag);
  return out;
}

/** `"x"` as `W/"x"`; an already weak tag unchanged. */
export function weakETag(etag: string): string {
  const trimmed = etag.trim();
  return trimmed.startsWith('W/') ? trimmed : `W/${trimmed}`;
}

/** A coding name in lower case, `x-gzip` read as `gzip` (RFC 9110 §8.4.1.3). */
function canonicalCoding(raw: string): string {
  const coding = raw.trim().toLowerCase();
  return coding === 'x-gzip' ? 'gzip' : coding;
}
