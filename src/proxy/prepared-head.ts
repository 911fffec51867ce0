import type { CacheEntry } from '../cache/entry.js';
import { isInternalField, VARIANT_FIELD } from '../policy/stored-fields.js';
import { contentCodings, forbidsTransform, varyWithAcceptEncoding } from '../policy/content-coding.js';

/** The parts of a stored response's head that are the same on every hit, built once per entry. */
export interface PreparedHead {
  /**
   * Stored header fields as flat [name, value, …] pairs, `content-length` left out and `Vary`
   * naming Accept-Encoding: these are the fields of the body sent as it is stored.
   */
  readonly fields: ReadonlyArray<string | readonly string[]>;
  /** The codings the stored body carries (`Content-Encoding`), empty for none. */
  readonly codings: readonly string[];
  /** `Cache-Control: no-transform`: the body is never re-coded. */
  readonly noTransform: boolean;
  readonly contentLength: string;
  /** A standards-mode variant: the request's selecting fields must be matched first (RFC 9111 §4.1). */
  readonly varies: boolean;
  /**
   * The whole head of a fresh memory hit as flat pairs, in the order the full path sends it;
   * copy it and fill in the values that change per response at the indices below.
   */
  readonly memoryHitHead: ReadonlyArray<string | readonly string[]>;
  readonly requestIdAt: number;
  readonly ageAt: number;
  readonly cacheStatusAt: number;
}

const prepared = new WeakMap<CacheEntry, PreparedHead>();

/**
 * The entry's prepared head. Entries are immutable (a revalidation stores a new object), so the
 * first hit prepares it and every later hit reuses it; the WeakMap lets it go with the entry.
 */
export function preparedHead(entry: CacheEntry): PreparedHead {
  let head = prepared.get(entry);
  if (head === undefined) {
    const fields: Array<string | readonly string[]> = [];
    for (const name in entry.headers) {
      if (name !== 'content-length' && name !== 'vary' && !isInternalField(name)) fields.push(name, entry.headers[name]!);
    }
    // The body sent depends on Accept-Encoding even when it goes as stored (see content-coding.ts).
    fields.push('vary', varyWithAcceptEncoding(entry.headers['vary']));
    // What Fastify's reply.send() adds to a Buffer body without a type, so both paths answer alike.
    if (entry.headers['content-type'] === undefined) fields.push('content-type', 'application/octet-stream');
    const contentLength = String(entry.body.length);
    const memoryHitHead = ['x-request-id', '', ...fields, 'age', '', 'x-cache', 'HIT', 'x-cache-tier', 'memory', 'cache-status', '', 'content-length', contentLength];
    const ageAt = fields.length + 3;
    head = { fields, codings: contentCodings(entry.headers), noTransform: forbidsTransform(entry.headers), contentLength, varies: entry.headers[VARIANT_FIELD] !== undefined, memoryHitHead, requestIdAt: 1, ageAt, cacheStatusAt: ageAt + 6 };
    prepared.set(entry, head);
  }
  return head;
}
