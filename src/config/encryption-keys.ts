/**
 * Parsing `cache.encryption` (CACHE_ENCRYPTION_KEY, CACHE_ENCRYPTION_KEYS) into keys (pure). A
 * problem names the setting and what is wrong with it, never the key or any part of it.
 */
import { createHmac } from 'node:crypto';

const KEY_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

export interface EncryptionKey {
  /** The id envelopes name the key by: given as `id:key`, else a fingerprint (safe to log). */
  readonly id: string;
  readonly aes: Buffer;
}

/** A malformed encryption key or key list; the message never holds key material. */
export class KeyRingError extends Error {
  override readonly name = 'KeyRingError';
}

/**
 * The current key first, then the older ones (comma-separated). A key is 32 bytes as base64
 * (44 characters, standard or URL-safe alphabet) or hex (64), optionally `id:` before it. Without
 * an id, the id is a fingerprint (an HMAC of a constant under the key), so moving the key from
 * CACHE_ENCRYPTION_KEY to CACHE_ENCRYPTION_KEYS keeps naming the same envelopes.
 */
export function parseEncryptionKeys(current: string, older: string | null): EncryptionKey[] {
  const keys = [parseKey(current, 'CACHE_ENCRYPTION_KEY (cache.encryption.key)')];
  (older ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').forEach((text, i) => {
    keys.push(parseKey(text, `CACHE_ENCRYPTION_KEYS (cache.encryption.keys) entry ${i + 1}`));
  });
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    const seen = byId.get(key.id);
    if (seen !== undefined && !seen.equals(key.aes)) throw new KeyRingError(`cache.encryption: key id "${key.id}" names two different keys`);
    byId.set(key.id, key.aes);
  }
  return keys;
}

function parseKey(text: string, where: string): EncryptionKey {
  const colon = text.indexOf(':');
  const id = colon < 0 ? undefined : text.slice(0, colon).trim();
  const material = (colon < 0 ? text : text.slice(colon + 1)).trim();
  if (id !== undefined && !KEY_ID_PATTERN.test(id)) throw new KeyRingError(`${where}: a key id (before ":") must be 1-32 letters, digits, "_", "." or "-"`);
  let aes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(material)) aes = Buffer.from(material, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(material)) aes = Buffer.from(material, 'base64');
  else if (/^[A-Za-z0-9_-]{43}=?$/.test(material)) aes = Buffer.from(material, 'base64url');
  if (aes === undefined || aes.length !== KEY_BYTES) {
    throw new KeyRingError(
      `${where}: must be 32 bytes written as base64 (44 characters, e.g. from "openssl rand -base64 32") or hex (64 characters, "openssl rand -hex 32"); got ${material.length} characters`,
    );
  }
  return { id: id ?? `k${createHmac('sha256', aes).update('sidecache key id').digest('hex').slice(0, 12)}`, aes };
}
