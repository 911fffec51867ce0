/**
 * Sealing shared-tier entries at rest with AES-256-GCM (node:crypto: OpenSSL's AEAD, constant
 * time tag check, hardware AES; no library adds anything but a dependency). Pure: no I/O.
 *
 * Sealed envelope (all of it is authenticated; bytes 0 .. 15+idLength are also associated data):
 *
 *   offset      size  field
 *   0           1     SEALED_MAGIC (0x53 'S'; a plain envelope starts with its format, 1)
 *   1           1     SEALED_VERSION
 *   2           1     key id length n (1-32)
 *   3           n     key id (ASCII)
 *   3+n         12    nonce (random per write)
 *   15+n        …     ciphertext of the plain envelope (codec.ts)
 *   end-16      16    GCM tag
 *
 * Associated data: "sidecache-sealed" NUL, the entry format version, NUL, the cache key, NUL,
 * then the header bytes above — so an entry copied to another cache key, relabelled with another
 * key id or read as another format fails to open.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { parseEncryptionKeys, type EncryptionKey } from '../config/encryption-keys.js';
import { ENTRY_FORMAT_VERSION } from './entry.js';

export { KeyRingError } from '../config/encryption-keys.js';

/** One key of the ring: the id envelopes name it by, the AES key and the index HMAC key. */
interface RingKey extends EncryptionKey {
  readonly index: Buffer;
}

export const SEALED_MAGIC = 0x53;
export const SEALED_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Why an envelope did not open: never the key, never the contents. */
export type OpenFailure = 'malformed' | 'unknown-key' | 'unauthentic';

export type Opened = { readonly ok: true; readonly plain: Buffer; readonly keyId: string; readonly current: boolean } | { readonly ok: false; readonly reason: OpenFailure };

/** The current key and the older ones still read: `CACHE_ENCRYPTION_KEY`, `CACHE_ENCRYPTION_KEYS`. */
export class KeyRing {
  readonly #current: RingKey;
  readonly #byId: Map<string, RingKey>;

  private constructor(current: RingKey, older: readonly RingKey[]) {
    this.#current = current;
    this.#byId = new Map([[current.id, current]]);
    // parseEncryptionKeys refused one id naming two keys; a repeated key is kept once.
    for (const key of older) if (!this.#byId.has(key.id)) this.#byId.set(key.id, key);
  }

  /** Parses the current key and a comma-separated list of older ones; throws KeyRingError (config/encryption-keys.ts). */
  static parse(current: string, older: string | null): KeyRing {
    const [first, ...rest] = parseEncryptionKeys(current, older).map(withIndexKey);
    return new KeyRing(first!, rest);
  }

  /** The id new envelopes are sealed under (safe to log: a fingerprint, not the key). */
  get currentId(): string {
    return this.#current.id;
  }

  /** Every id the ring can open. */
  get ids(): string[] {
    return [...this.#byId.keys()];
  }

  /** Seals a plain envelope for `cacheKey` under the current key with a fresh nonce. */
  seal(plain: Buffer, cacheKey: string): Buffer {
    const key = this.#current;
    const id = Buffer.from(key.id, 'ascii');
    const header = Buffer.allocUnsafe(3 + id.length + NONCE_BYTES);
    header[0] = SEALED_MAGIC;
    header[1] = SEALED_VERSION;
    header[2] = id.length;
    id.copy(header, 3);
    randomBytes(NONCE_BYTES).copy(header, 3 + id.length);
    const cipher = createCipheriv('aes-256-gcm', key.aes, header.subarray(3 + id.length), { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(cacheKey, header));
    return Buffer.concat([header, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }

  /** Opens a sealed envelope stored under `cacheKey`; never throws. */
  open(sealed: Buffer, cacheKey: string): Opened {
    if (!isSealed(sealed) || sealed[1] !== SEALED_VERSION) return { ok: false, reason: 'malformed' };
    const idLength = sealed[2]!;
    const headerEnd = 3 + idLength + NONCE_BYTES;
    if (idLength === 0 || sealed.length < headerEnd + TAG_BYTES) return { ok: false, reason: 'malformed' };
    const keyId = sealed.toString('ascii', 3, 3 + idLength);
    const key = this.#byId.get(keyId);
    if (key === undefined) return { ok: false, reason: 'unknown-key' };
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.aes, sealed.subarray(3 + idLength, headerEnd), { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(cacheKey, sealed.subarray(0, headerEnd)));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(sealed.subarray(headerEnd, sealed.length - TAG_BYTES)), decipher.final()]);
      return { ok: true, plain, keyId, current: key === this.#current };
    } catch {
      return { ok: false, reason: 'unauthentic' };
    }
  }

  /** Keyed hash of an index value (tag, path prefix) under the current key: what sealed rows store. */
  indexHash(value: string): string {
    return indexHash(this.#current, value);
  }

  /** The value's keyed hash under every key of the ring: what a search matches (rows not yet re-sealed included). */
  indexHashes(value: string): string[] {
    return [...this.#byId.values()].map((key) => indexHash(key, value));
  }
}

/** Whether a stored value is a sealed envelope (as opposed to a plain one). */
export function isSealed(stored: Buffer): boolean {
  return stored.length > 0 && stored[0] === SEALED_MAGIC;
}

function withIndexKey(key: EncryptionKey): RingKey {
  return { ...key, index: Buffer.from(hkdfSync('sha256', key.aes, Buffer.alloc(0), 'sidecache api_cache index', 32)) };
}

function associatedData(cacheKey: string, header: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`sidecache-sealed\0${ENTRY_FORMAT_VERSION}\0${cacheKey}\0`, 'utf8'), header]);
}

function indexHash(key: RingKey, value: string): string {
  return createHmac('sha256', key.index).update(value, 'utf8').digest('base64url').slice(0, 22);
}
