import { createHash } from 'node:crypto';
import type { SharedRedis } from '../redis/client.js';
import { LRUCache } from 'lru-cache';
import { withTimeout } from '../resilience/timeout.js';

export interface DeliveryDedupeOptions {
  /** Shared across instances when set: a retry landing on another instance is still a repeat. */
  readonly redis: SharedRedis | null;
  readonly namespace: string;
  /** How long a delivery id is remembered (default 24 h: senders retry for minutes (Jira) up to 24 hours (Salesforce outbound messages), and Pub/Sub redeliveries come sooner). */
  readonly windowMs?: number;
  /** Bound on each Redis call; past it this instance's memory decides alone. */
  readonly timeoutMs: number;
  /** Ids remembered in memory at most, least recent forgotten first (default 100 000). */
  readonly maxRemembered?: number;
}

const DEFAULT_WINDOW_MS = 24 * 3_600_000;
const DEFAULT_MAX_REMEMBERED = 100_000;

/**
 * Remembers delivery ids (Jira's `X-Atlassian-Webhook-Identifier`, a change event's transaction
 * key or replay id, an outbound notification id) so a retried delivery is applied and counted
 * once. Redis (`SET NX PX`) makes it hold across instances; without Redis, or when it does not
 * answer in time, each instance remembers what it saw.
 */
export class DeliveryDedupe {
  readonly #options: DeliveryDedupeOptions;
  readonly #windowMs: number;
  readonly #seen: LRUCache<string, true>;

  constructor(options: DeliveryDedupeOptions) {
    this.#options = options;
    this.#windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.#seen = new LRUCache({ max: options.maxRemembered ?? DEFAULT_MAX_REMEMBERED, ttl: this.#windowMs });
  }

  /** True the first time `id` is claimed within the window; false for a repeat. */
  async claim(source: string, id: string): Promise<boolean> {
    const key = this.#key(source, id);
    if (this.#seen.has(key)) return false;
    const answer = await this.#redis((client) => client.set(key, '1', 'PX', this.#windowMs, 'NX'), 'OK', 'unavailable');
    // Held elsewhere: not remembered here, so a release by its holder frees it here too.
    if (answer === null) return false;
    this.#seen.set(key, true);
    return true;
  }

  /** Forgets a claim whose delivery could not be applied, so the sender's retry is. */
  async release(source: string, id: string): Promise<void> {
    const key = this.#key(source, id);
    this.#seen.delete(key);
    await this.#redis((client) => client.del(key), 0, 0);
  }

  /**
   * Runs `apply` with a `claim` for delivery ids of `source` (true the first time, false for a
   * repeat). When `apply` throws (the invalidation failed), every id it claimed is released before
   * the error goes on, so the sender's retry, or the redelivery after a reconnect, is applied.
   */
  async applyOnce<T>(source: string, apply: (claim: (id: string) => Promise<boolean>) => Promise<T>): Promise<T> {
    const claimed: string[] = [];
    const claim = async (id: string): Promise<boolean> => {
      if (!(await this.claim(source, id))) return false;
      claimed.push(id);
      return true;
    };
    try {
      return await apply(claim);
    } catch (err) {
      await Promise.all(claimed.map((id) => this.release(source, id)));
      throw err;
    }
  }

  #key(source: string, id: string): string {
    // Hashed: ids come from the sender, so their length and bytes are not ours to choose.
    return `sidecache:${this.#options.namespace}:hook:${source}:${createHash('sha256').update(id).digest('base64url')}`;
  }

  /** A bounded Redis call through its breaker: `absent` without Redis, `unavailable` when it cannot answer now. */
  async #redis<T, U>(call: (client: SharedRedis['client']) => Promise<T>, absent: U, unavailable: U): Promise<T | U> {
    const redis = this.#options.redis;
    if (redis === null) return absent;
    if (!redis.breaker.allow()) return unavailable;
    try {
      const answer = await withTimeout(call(redis.client), this.#options.timeoutMs, () => new Error('redis timeout'));
      redis.breaker.success();
      return answer;
    } catch {
      redis.breaker.failure();
      return unavailable;
    }
  }
}
