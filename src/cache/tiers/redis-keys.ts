import { Cluster, type Redis } from 'ioredis';
import { ENTRY_FORMAT_VERSION } from '../entry.js';

const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Where one namespace's entries live in Redis, and the multi-key commands the tier and its
 * listing send. No command spans the entry and index keys, so every one runs unchanged on
 * Redis Cluster (where they live in different slots).
 *
 *   sidecache:<ns>:v<format>:e:<cacheKey>   the envelope, PX = staleUntil - now
 *   sidecache:<ns>:v<format>:idx            ZSET cacheKey -> staleUntil
 *
 * `<format>` is the entry format, with an `s` after it for sealed envelopes (sealed-codec.ts):
 * sealed and plain entries live apart, so turning encryption on or off starts from an empty
 * keyspace and the other one expires by itself.
 */
export class RedisKeys {
  readonly client: Redis | Cluster;
  readonly namespace: string;
  /** The sorted set indexing this namespace's live cache keys. */
  readonly indexKey: string;
  readonly #prefix: string;

  constructor(client: Redis | Cluster, namespace: string, sealed = false) {
    if (!NAMESPACE_PATTERN.test(namespace)) {
      throw new TypeError(`RedisTier: namespace must be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(namespace)}`);
    }
    this.client = client;
    this.namespace = namespace;
    this.#prefix = `${formatPrefix(namespace, sealed)}:e:`;
    this.indexKey = redisIndexKey(namespace, sealed);
  }

  /** The Redis key an entry is stored under. */
  entryKey(cacheKey: string): string {
    return this.#prefix + cacheKey;
  }

  /**
   * Sends single-key commands together: one pipeline (one write) on a single node, concurrent
   * commands on a Cluster, whose pipelines must stay within one node's slots. Not atomic.
   */
  async together(commands: Array<[string, ...Array<string | number | Buffer>]>): Promise<unknown[]> {
    const client = this.client;
    if (client instanceof Cluster) return Promise.all(commands.map(([name, ...args]) => client.call(name, ...args)));
    const replies = (await client.pipeline(commands).exec()) ?? [];
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  /** The first `bytes` of each key's envelope (empty for a missing key), in one round trip. */
  async heads(keys: readonly string[], bytes: number): Promise<Buffer[]> {
    const client = this.client;
    if (client instanceof Cluster) return Promise.all(keys.map((key) => client.getrangeBuffer(this.entryKey(key), 0, bytes - 1)));
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.getrangeBuffer(this.entryKey(key), 0, bytes - 1);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value as Buffer;
    });
  }

  /** UNLINK in batches on a single node; per key on a Cluster (the keys of one command must share a slot). */
  async unlinkMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const client = this.client;
    if (client instanceof Cluster) await Promise.all(keys.map((key) => client.unlink(key)));
    else await client.unlink(...keys);
  }
}

function formatPrefix(namespace: string, sealed: boolean): string {
  return `sidecache:${namespace}:v${ENTRY_FORMAT_VERSION}${sealed ? 's' : ''}`;
}

/** The index of a namespace's plain or sealed entries (also read at start-up to spot sealed entries without a key). */
export function redisIndexKey(namespace: string, sealed: boolean): string {
  return `${formatPrefix(namespace, sealed)}:idx`;
}
