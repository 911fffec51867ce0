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
 * Hash of a request body for body-keyed rules. JSON bodies are canonicalised first (object keys
 * sorted, insignificant whitespace dropped) so equivalent requests share an entry.
 */
export function hashRequestBody(body: Buffer, contentType: string | undefined): string {
  const hash = createHash('sha256').update(mediaType(contentType)).update('\n');
  if (/json/i.test(contentType ?? '')) {
    const canonical = canonicalJson(body);
    if (canonical !== undefined) return hash.update(canonical).digest('base64url');
  }
  return hash.update(body).digest('base64url');
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Sorted-key JSON, or undefined when canonicalising could merge distinct bodies: numbers with
 * 16+ digits lose precision through `JSON.parse`, so such bodies are hashed as raw bytes.
 */
function canonicalJson(body: Buffer): string | undefined {
  const text = body.toString('utf8');
  if (/\d{16}/.test(text)) return undefined;
  try {
    return canonicalise(JSON.parse(text));
  } catch {
    return undefined;
  }
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
