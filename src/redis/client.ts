import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { backoffDelay } from '../backoff.js';
import { LogThrottle } from '../log-throttle.js';
import type { BreakerGate, CircuitBreaker } from '../resilience/circuit-breaker.js';
import { parseRedisUrl, redactRedisUrl, type RedisNode } from './url.js';

/**
 * The one Redis connection of a process and the one breaker every user of it reports to (the
 * tier, fill leases, caller rate limits, hook dedupe), so Redis is up or down for all of them at once.
 */
export interface SharedRedis {
  readonly client: Redis | Cluster;
  readonly breaker: BreakerGate;
}

/** The process's Redis as its owner holds it: the shared connection, its pub/sub twin (a
 * subscribed connection can send nothing else), and the one close for both. */
export interface OwnedRedis extends SharedRedis {
  readonly breaker: CircuitBreaker;
  readonly subscriber: Redis | Cluster;
  close(): void;
}

/** A logger function (pino-style arguments) or anything with a pino-style `warn`. */
export type RedisLog = ((obj: object, msg: string) => void) | { warn(obj: object, msg: string): void };

export interface RedisClientOptions {
  readonly connectTimeoutMs: number;
  /** Connection name (CLIENT SETNAME), visible in CLIENT LIST. */
  readonly name: string;
  /** Do not connect until the first command or `connect()`. */
  readonly lazyConnect?: boolean;
  /** Per-command timeout; by default the caller bounds its own waits (the tier facade does). */
  readonly commandTimeoutMs?: number;
  /** Where connection errors go; default `console.warn`. */
  readonly log?: RedisLog;
  /** Connection errors are logged at most once per this interval (the rest are counted). Default 10 s. */
  readonly errorLogIntervalMs?: number;
}

/** From 50 ms up to 2 s, each delay at least 80% of its step. */
const RECONNECT_BACKOFF = { initialMs: 50, maxMs: 2_000, jitter: 0.2 };
const DEFAULT_ERROR_LOG_INTERVAL_MS = 10_000;
/**
 * A fail-fast ioredis client for the URL: no offline queue (a command on a dead connection
 * rejects at once instead of waiting), one retry per request, reconnection forever with capped
 * exponential back-off (at most 2 s apart), and an 'error' listener that logs at most once per
 * `errorLogIntervalMs`, so an unreachable Redis never crashes the process. Connections made
 * with `duplicate()` get the same listener.
 *
 * The client is usable once it emits 'ready' (see `waitForReady`); commands sent before that
 * reject immediately. The caller owns the client and closes it (`quit()` or `disconnect()`).
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis | Cluster {
  const parsed = parseRedisUrl(url);
  const common: RedisOptions = {
    connectionName: options.name,
    connectTimeout: options.connectTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableReadyCheck: true,
    lazyConnect: options.lazyConnect ?? false,
    ...(options.commandTimeoutMs !== undefined && { commandTimeout: options.commandTimeoutMs }),
    ...(parsed.username !== undefined && { username: parsed.username }),
    ...(parsed.password !== undefined && { password: parsed.password }),
  };

  let client: Redis | Cluster;
  switch (parsed.kind) {
    case 'single':
      client = new Redis({
        ...common,
        host: parsed.node.host,
        port: parsed.node.port,
        db: parsed.db,
        retryStrategy: reconnectDelay,
        ...(parsed.tls && { tls: {} }),
      });
      break;
    case 'sentinel':
      client = new Redis({
        ...common,
        sentinels: parsed.sentinels.map((n) => ({ host: n.host, port: n.port })),
        name: parsed.masterName,
        db: parsed.db,
        retryStrategy: reconnectDelay,
        sentinelRetryStrategy: reconnectDelay,
        ...(parsed.sentinelPassword !== undefined && { sentinelPassword: parsed.sentinelPassword }),
      });
      break;
    case 'cluster': {
      const { lazyConnect, enableOfflineQueue: _offline, ...redisOptions } = common;
      const clusterOptions: ClusterOptions = {
        redisOptions,
        enableOfflineQueue: false,
        enableReadyCheck: true,
        lazyConnect,
        clusterRetryStrategy: reconnectDelay,
      };
      client = new Cluster(
        parsed.nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOptions,
      );
      break;
    }
  }

  attachErrorLogger(client, options, url);
  const duplicate = client.duplicate.bind(client) as (...args: unknown[]) => Redis | Cluster;
  // Connections derived with duplicate() (e.g. the bus subscriber) must not be listener-less either.
  client.duplicate = ((...args: unknown[]) => {
    const copy = duplicate(...args);
    attachErrorLogger(copy, options, url);
    return copy;
  }) as typeof client.duplicate;
  return client;
}

/**
 * Resolves once the client is ready; rejects if it is not within `timeoutMs`, or (unless
 * `waitThroughFailures`) as soon as a connection attempt fails. Starts a lazy client.
 */
export function waitForReady(client: Redis | Cluster, timeoutMs: number, waitThroughFailures = false): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  if (client.status === 'end') return Promise.reject(new Error('redis client has been closed'));
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('close', onClose);
      client.off('end', onEnd);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onReady = (): void => done();
    const onClose = (): void => {
      if (!waitThroughFailures) done(new Error('redis connection attempt failed'));
    };
    const onEnd = (): void => done(new Error('redis client has been closed'));
    const timer = setTimeout(() => done(new Error(`redis not ready within ${timeoutMs} ms`)), timeoutMs);
    // A wait never holds the process open by itself: a client closed while it was between
    // connection attempts has no socket left to close, so it emits neither 'close' nor 'end', and
    // a referenced timer kept the process alive for the rest of `timeoutMs` after shutdown.
    timer.unref();
    client.on('ready', onReady);
    client.on('close', onClose);
    client.on('end', onEnd);
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}

/** ioredis counts attempts from 1; capped, a little jitter, never gives up. */
function reconnectDelay(attempt: number): number {
  return backoffDelay(attempt - 1, RECONNECT_BACKOFF);
}

function attachErrorLogger(client: Redis | Cluster, options: RedisClientOptions, url: string): void {
  const interval = options.errorLogIntervalMs ?? DEFAULT_ERROR_LOG_INTERVAL_MS;
  const log = toLogFn(options.log);
  const target = redactRedisUrl(url);
  const throttle = new LogThrottle(interval);
  client.on('error', (err: Error) => {
    const suppressed = throttle.admit();
    if (suppressed === null) return;
    log({ err: err.message, code: (err as NodeJS.ErrnoException).code, redis: target, connection: options.name, suppressed }, 'redis connection error');
  });
}

function toLogFn(log: RedisLog | undefined): (obj: object, msg: string) => void {
  if (log === undefined) return (obj, msg) => console.warn(msg, obj);
  if (typeof log === 'function') return log;
  return (obj, msg) => log.warn(obj, msg);
}
