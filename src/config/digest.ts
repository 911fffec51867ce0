import { createHash } from 'node:crypto';
import type { Config } from './types.js';

/** Config fields that hold secrets (or URLs that may embed credentials). */
const SECRET_FIELDS = new Set(['token', 'keySecret', 'url', 'add', 'encryption']);

/**
 * A short digest of the effective config, so ops can tell whether instances run the same one.
 * Secrets are replaced before hashing: a digest over a low-entropy password could be reversed
 * by trying candidates against the rest of the (known) config.
 */
export function configDigest(config: Config): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (key, inner: unknown) => {
    if (SECRET_FIELDS.has(key) && inner !== null) return '[secret]';
    if (inner instanceof RegExp) return inner.source;
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      return Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return inner;
  });
}
