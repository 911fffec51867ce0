import { createHash, createHmac, hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CacheScope } from '../config/types.js';
import type { RequestIdentity } from '../sessions/identity.js';

/** Everything a cache key is made of. Credentials arrive already reduced to a partition. */
export interface KeyParts {
  readonly upstream: string;
  readonly method: string;
  /** Upstream-relative path, dot-segments removed. */
  readonly path: string;
  /** Canonical query (see `canonicalQuery`). */
  readonly query: string;
  /** [header, value] for every vary header, in a fixed order; absent headers have value ''. */
  readonly vary: ReadonlyArray<readonly [string, string]>;
  readonly partition: string;
  readonly bodyHash: string | null;
}

/**
 * Key format: `<upstream>:<partition>:<digest>` where partition is `shared`, `auth:<h>`, `anon`
 * or `sess:<h>` (h = HMAC of the credential with the key secret, 128 bits, base64url) and digest
 * is SHA-256 over method, path, query, vary values and body hash. Fixed length whatever the URL,
 * so it fits every tier's key limits; the readable path is kept on the entry instead.
 */
export function buildCacheKey(parts: KeyParts): string {
  let material = `${parts.method}\n${parts.path}\n${parts.query}\n`;
  for (const [name, value] of parts.vary) material += `${name}:${value}\n`;
  material += parts.bodyHash ?? '-';
  return `${parts.upstream}:${parts.partition}:${hash('sha256', material, 'base64url')}`;
}

/**
 * The cache partition for a scope, or null when the request cannot be partitioned safely
 * (a `session` rule without a session token): such a request bypasses the cache.
 */
export function cachePartition(
  scope: CacheScope,
  identity: Pick<RequestIdentity, 'credential' | 'sessionToken'>,
  secret: string,
): string | null {
  switch (scope) {
    case 'shared':
      return 'shared';
    case 'authorization':
      return identity.credential === undefined ? 'anon' : `auth:${keyedHash(secret, `credential:${identity.credential}`)}`;
    case 'session':
      // Domain-separated from the session store's token hash, so a stored session row cannot be
      // matched to its cache partition.
      return identity.sessionToken === undefined ? null : `sess:${keyedHash(secret, `cache-session:${identity.sessionToken}`)}`;
  }
}

/**
 * HMACs are memoised per secret and credential: the same few credentials repeat on every
 * request, and a Map hit is an order of magnitude cheaper than an HMAC.
 */
const keyedHashes = new LRUCache<string, string>({ max: 10_000 });

function keyedHash(secret: string, value: string): string {
  const memo = `${secret}\u0000${value}`;
  let digest = keyedHashes.get(memo);
  if (digest === undefined) {
    digest = createHmac('sha256', secret).update(value).digest('base64url').slice(0, 22);
    keyedHashes.set(memo, digest);
  }
  return digest;
}

/**
 * Hash of a request body for body-keyed rules, over its Content-Type and Content-Encoding (both
 * forwarded with it) and its bytes. A JSON body is canonicalised first (object keys sorted,
 * insignificant whitespace dropped) only when that provably loses nothing an upstream could
 * read (see `canonicalJson`); any other body is hashed as raw bytes, in a separate domain.
 */
export function hashRequestBody(body: Buffer, contentType: string | undefined, contentEncoding?: string): string {
  const hash = createHash('sha256').update(`${normalContentType(contentType)}\n${contentEncoding?.trim() ?? ''}\n`);
  const canonical = contentEncoding === undefined && isUtf8Json(contentType) ? canonicalJson(body) : undefined;
  if (canonical !== undefined) return hash.update('json\n').update(canonical).digest('base64url');
  return hash.update('raw\n').update(body).digest('base64url');
}

/** The media type in lower case, parameters as sent (a charset may change how bytes read). */
function normalContentType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return semicolon === -1 ? type : `${type};${contentType.slice(semicolon + 1).trim()}`;
}

/** `application/json` or `+json`, without a charset or with UTF-8 (the only one JSON text may use). */
function isUtf8Json(contentType: string | undefined): boolean {
  const [type = '', ...params] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  return params.every((param) => param === '' || /^charset="?utf-8"?$/.test(param));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Sorted-key JSON, or undefined unless canonicalising is lossless: the bytes are valid UTF-8
 * (no BOM), the text is JSON, no object repeats a key (upstream parsers disagree on which one
 * wins) and every number is written exactly as JavaScript writes it back, so none is rounded,
 * overflows to Infinity, or changes spelling (`1.0`, `1e2` and `-0` keep their raw bytes).
 */
export function canonicalJson(body: Buffer): string | undefined {
  let text: string;
  let value: unknown;
  try {
    text = strictUtf8.decode(body);
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!losslessJson(text)) return undefined;
  try {
    return canonicalise(value);
  } catch {
    return undefined; // nesting too deep to walk: raw bytes it is
  }
}

/**
 * Scans JSON text already known to parse: false on a repeated key in one object or a number
 * literal that does not round-trip exactly. Iterative, so nesting depth costs no stack.
 */
function losslessJson(text: string): boolean {
  const objects: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b) objects.push(new Set());
    else if (c === 0x5b) objects.push(null);
    else if (c === 0x7d || c === 0x5d) objects.pop();
    else if (c === 0x22) {
      const end = stringEnd(text, i);
      const keys = objects[objects.length - 1];
      if (keys !== null && keys !== undefined && nextSignificant(text, end + 1) === 0x3a) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return false;
        keys.add(key);
      }
      i = end;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && /[0-9eE.+-]/.test(text[end]!)) end++;
      const literal = text.slice(i, end);
      if (JSON.stringify(Number(literal)) !== literal) return false;
      i = end - 1;
    }
  }
  return true;
}

/** Index of the closing quote of the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  return text.length;
}

function nextSignificant(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
  }
  return -1;
}

// Serialised directly rather than by rebuilding objects, so keys such as "__proto__" survive.
function canonicalise(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalise).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalise(record[name])}`);
  return `{${members.join(',')}}`;
}

/**
 * Standards mode stores a varying response twice: under its request's key, and under the key of
 * its variant, `<key>~<digest>`, where the digest is an HMAC of the request's selecting values
 * (see policy/vary.ts): credentials a response varies on never appear in clear.
 */
export function variantDigest(secret: string, selectingValues: string): string {
  return createHmac('sha256', secret).update(`variant:${selectingValues}`).digest('base64url').slice(0, 22);
}

export function variantKey(key: string, digest: string): string {
  return `${key}~${digest}`;
}
