import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface DeliveryDedupeOptions {
  /** Shared across instances when set: a retry landing on another instance is still a repeat. */
  readonly redis: Redis | Cluster | null;
  readonly namespace: string;
  /** How long a delivery id is remembered; senders retry within minutes (Jira) to hours (Salesforce). */
  readonly windowMs: number;
  /** Bound on each Redis call; past it this instance's memory decides alone. */
  readonly timeoutMs: number;
  /** Ids remembered in memory at most (least recent forgotten first). */
  readonly maxRemembered: number;
}

/**
 * Remembers delivery ids (Jira's `X-Atlassian-Webhook-Identifier`, a change event's transaction
 * key or replay id, an outbound notification id) so a retried delivery is applied and counted
 * once. Redis (`SET NX PX`) makes it hold across instances; without Redis, or when it does not
 * answer in time, each instance remembers what it saw.
 */
export class DeliveryDedupe {
  readonly #options: DeliveryDedupeOptions;
  readonly #seen: LRUCache<string, true>;

  constructor(options: DeliveryDedupeOptions) {
    this.#options = options;
    this.#seen = new LRUCache({ max: options.maxRemembered, ttl: options.windowMs });
  }

  /** True the first time `id` is claimed within the window; false for a repeat. */
  async claim(source: string, id: string): Promise<boolean> {
    const key = this.#key(source, id);
    if (this.#seen.has(key)) return false;
    const redis = this.#options.redis;
    const answer = redis === null ? 'OK' : await this.#bounded(redis.set(key, '1', 'PX', this.#options.windowMs, 'NX')).catch(() => 'unavailable');
    // Held elsewhere: not remembered here, so a release by its holder frees it here too.
    if (answer === null) return false;
    this.#seen.set(key, true);
    return true;
  }

  /** Forgets a claim whose delivery could not be applied, so the sender's retry is. */
  async release(source: string, id: string): Promise<void> {
    const key = this.#key(source, id);
    this.#seen.delete(key);
    await this.#bounded(this.#options.redis?.del(key)).catch(() => undefined);
  }

  #key(source: string, id: string): string {
    // Hashed: ids come from the sender, so their length and bytes are not ours to choose.
    return `sidecache:${this.#options.namespace}:hook:${source}:${createHash('sha256').update(id).digest('base64url')}`;
  }

  #bounded<T>(work: Promise<T> | undefined): Promise<T | undefined> {
    if (work === undefined) return Promise.resolve(undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis timeout')), this.#options.timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
}
