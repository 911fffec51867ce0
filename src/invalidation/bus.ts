import type { Cluster, Redis } from 'ioredis';
import { LogThrottle } from '../log-throttle.js';
import { waitForReady } from '../redis/client.js';
import { decodeBusMessage, encodeBusMessage, toBusMessage, type BusMessage, type BusPayload } from './messages.js';

export interface InvalidationBusOptions {
  /** Any connection; used for PUBLISH. */
  readonly publisher: Redis | Cluster;
  /** A connection of its own (e.g. `publisher.duplicate()`): a subscribed connection can do nothing else. */
  readonly subscriber: Redis | Cluster;
  readonly namespace: string;
  /** This instance's id; messages it sent itself are ignored when they come back. */
  readonly instanceId: string;
  readonly log?: (obj: object, msg: string) => void;
  /** How long `start()` waits for a connection that is still being made. Default 5 s. */
  readonly startTimeoutMs?: number;
}

export interface BusStats {
  published: number;
  /** Valid messages from other instances, handed to the handlers. */
  received: number;
  /** Our own messages coming back, ignored. */
  ownIgnored: number;
  /** Malformed messages, or of an unknown version or type. */
  dropped: number;
  publishFailures: number;
  handlerErrors: number;
}

export type BusHandler = (message: BusMessage) => void | Promise<void>;


/**
 * Redis pub/sub transport for invalidation messages on `sidecache:<ns>:bus`. Delivery is
 * at-most-once: a message published while a subscriber is disconnected is lost to it, so
 * `onReconnect` handlers should assume anything may have changed meanwhile.
 * Never throws from `publish` or from a bad message; the owner closes both connections.
 */
export class InvalidationBus {
  readonly channel: string;
  readonly #publisher: Redis | Cluster;
  readonly #subscriber: Redis | Cluster;
  readonly #instanceId: string;
  readonly #log: (obj: object, msg: string) => void;
  readonly #startTimeoutMs: number;
  readonly #handlers = new Set<BusHandler>();
  readonly #reconnectHandlers = new Set<() => void>();
  readonly #stats: BusStats = { published: 0, received: 0, ownIgnored: 0, dropped: 0, publishFailures: 0, handlerErrors: 0 };
  #listening = false;
  #subscribedOnce = false;
  #closed = false;
  readonly #logThrottle = new LogThrottle();

  constructor(options: InvalidationBusOptions) {
    this.channel = `sidecache:${options.namespace}:bus`;
    this.#publisher = options.publisher;
    this.#subscriber = options.subscriber;
    this.#instanceId = options.instanceId;
    this.#log = options.log ?? ((obj, msg) => console.warn(msg, obj));
    this.#startTimeoutMs = options.startTimeoutMs ?? 5_000;
  }

  /**
   * Subscribes to the channel. Waits for a connection still being made (up to `startTimeoutMs`)
   * but rejects at once if Redis is unreachable; the bus then subscribes by itself as soon as
   * the subscriber connects. Safe to call again.
   */
  async start(): Promise<void> {
    if (this.#closed) throw new Error('invalidation bus is closed');
    if (!this.#listening) {
      this.#listening = true;
      this.#subscriber.on('messageBuffer', this.#onMessage);
      this.#subscriber.on('ready', this.#onReady);
    }
    await waitForReady(this.#subscriber, this.#startTimeoutMs);
    await this.#subscribe();
  }

  /** Publishes to every other instance; failures are logged and counted, never thrown. */
  async publish(payload: BusPayload): Promise<void> {
    try {
      await this.#publisher.publish(this.channel, encodeBusMessage(toBusMessage(payload, this.#instanceId)));
      this.#stats.published += 1;
    } catch (err) {
      this.#stats.publishFailures += 1;
      this.#warn('publish', { err: (err as Error).message, type: payload.type, failures: this.#stats.publishFailures }, 'invalidation bus publish failed');
    }
  }

  /** Registers a handler for messages from other instances; returns a function that removes it. */
  onMessage(handler: BusHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Called when the subscriber is back after a disconnection, during which messages may have been missed. */
  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => this.#reconnectHandlers.delete(handler);
  }

  stats(): BusStats {
    return { ...this.#stats };
  }

  /** Unsubscribes and detaches; the connections stay open for their owner to close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriber.off('messageBuffer', this.#onMessage);
    this.#subscriber.off('ready', this.#onReady);
    this.#handlers.clear();
    this.#reconnectHandlers.clear();
    if (this.#subscriber.status === 'ready') await this.#subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  async #subscribe(): Promise<void> {
    await this.#subscriber.subscribe(this.channel);
    this.#subscribedOnce = true;
  }

  readonly #onReady = (): void => {
    if (this.#closed) return;
    const wasSubscribed = this.#subscribedOnce;
    // ioredis resubscribes after a reconnect by itself; this covers a first subscribe that failed.
    this.#subscribe().then(
      () => {
        if (wasSubscribed) for (const handler of this.#reconnectHandlers) this.#runSafely(() => handler());
      },
      (err: Error) => this.#warn('subscribe', { err: err.message, channel: this.channel }, 'invalidation bus subscribe failed'),
    );
  };

  readonly #onMessage = (channel: Buffer, raw: Buffer): void => {
    if (this.#closed || channel.toString() !== this.channel) return;
    const message = decodeBusMessage(raw);
    if (message === undefined) {
      this.#stats.dropped += 1;
      this.#warn('dropped', { channel: this.channel, bytes: raw.length, dropped: this.#stats.dropped }, 'invalidation bus dropped a malformed message');
      return;
    }
    if (message.origin === this.#instanceId) {
      this.#stats.ownIgnored += 1;
      return;
    }
    this.#stats.received += 1;
    for (const handler of this.#handlers) this.#runSafely(() => handler(message));
  };

  #runSafely(fn: () => void | Promise<void>): void {
    const onError = (err: unknown): void => {
      this.#stats.handlerErrors += 1;
      this.#warn('handler', { err: err instanceof Error ? err.message : String(err) }, 'invalidation bus handler failed');
    };
    try {
      const result = fn();
      if (result instanceof Promise) result.catch(onError);
    } catch (err) {
      onError(err);
    }
  }

  /** Logs at most once per 10 s per kind, so a dead Redis or a noisy sender cannot flood the log. */
  #warn(kind: string, obj: object, msg: string): void {
    if (this.#logThrottle.admit(kind) !== null) this.#log(obj, msg);
  }
}

/**
 * The bus on the app's one Redis connection (and its subscriber), subscribed now if Redis answers,
 * else as soon as it does: a dead Redis is never fatal.
 */
export async function openInvalidationBus(
  redis: { readonly client: Redis | Cluster; readonly subscriber: Redis | Cluster },
  options: { readonly namespace: string; readonly instanceId: string; readonly log: { warn(obj: object, msg: string): void } },
): Promise<InvalidationBus> {
  const { log } = options;
  const bus = new InvalidationBus({ publisher: redis.client, subscriber: redis.subscriber, namespace: options.namespace, instanceId: options.instanceId, log: (obj, msg) => log.warn(obj, msg) });
  await bus.start().catch((err: Error) => log.warn({ err: err.message }, 'redis bus not subscribed yet; will subscribe when Redis is reachable'));
  return bus;
}
