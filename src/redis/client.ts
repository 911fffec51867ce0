import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A Redis node address. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** What a sidecache Redis URL describes; the output of `parseRedisUrl`. */
export type ParsedRedisUrl =
  | {
      readonly kind: 'single';
      readonly node: RedisNode;
      readonly tls: boolean;
      readonly username?: string;
      readonly password?: string;
      readonly db: number;
    }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisNode[];
      readonly masterName: string;
      /** Credentials of the master and replicas. */
      readonly username?: string;
      readonly password?: string;
      /** From `?sentinelPassword=`, when the sentinels themselves require a password. */
      readonly sentinelPassword?: string;
      readonly db: number;
    }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNode[];
      readonly username?: string;
      readonly password?: string;
    };

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

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
const MAX_RECONNECT_DELAY_MS = 2_000;
const DEFAULT_ERROR_LOG_INTERVAL_MS = 10_000;
const SCHEMES = ['redis:', 'rediss:', 'redis+sentinel:', 'redis+cluster:'] as const;

/** Thrown by `parseRedisUrl` (and so `createRedisClient`) for a URL it cannot use; never echoes a password. */
export class RedisUrlError extends Error {
  readonly code = 'invalid_redis_url';
}

/**
 * Parses a sidecache Redis URL:
 *
 * - `redis://[[user]:password@]host[:6379][/db]`, `rediss://…` (TLS)
 * - `redis+sentinel://[[user]:password@]host1[:26379],host2[:26379]/<masterName>[?db=N][&sentinelPassword=…]`
 *   (the user information authenticates to the master; the sentinels only with `sentinelPassword`)
 * - `redis+cluster://[[user]:password@]host1[:6379],host2[:6379]`
 *
 * IPv6 hosts go in brackets (`[::1]:6379`); user and password are percent-decoded.
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const schemeMatch = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url);
  if (schemeMatch === null) throw new RedisUrlError(`invalid Redis URL ${redactRedisUrl(url)}: expected <scheme>://…`);
  const scheme = schemeMatch[1]!.toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new RedisUrlError(`unsupported Redis URL scheme "${scheme}//": use one of ${SCHEMES.map((s) => `${s}//`).join(', ')}`);
  }
  const fail = (why: string): never => {
    throw new RedisUrlError(`invalid Redis URL ${redactRedisUrl(url)}: ${why}`);
  };

  let rest = url.slice(schemeMatch[0].length);
  const hashAt = rest.indexOf('#');
  if (hashAt >= 0) fail('a fragment (#…) is not allowed');
  let query = '';
  const queryAt = rest.indexOf('?');
  if (queryAt >= 0) {
    query = rest.slice(queryAt + 1);
    rest = rest.slice(0, queryAt);
  }
  const slashAt = rest.indexOf('/');
  const authority = slashAt >= 0 ? rest.slice(0, slashAt) : rest;
  const path = slashAt >= 0 ? rest.slice(slashAt + 1) : '';

  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : null;
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== null) {
    const colon = userinfo.indexOf(':');
    const rawUser = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    const rawPassword = colon >= 0 ? userinfo.slice(colon + 1) : '';
    username = decode(rawUser, 'user name', fail) || undefined;
    password = decode(rawPassword, 'password', fail) || undefined;
    // `redis://secret@host` is the historic form for a password without a user name.
    if (colon < 0 && username !== undefined) {
      password = username;
      username = undefined;
    }
  }

  const params = parseQuery(query, fail);
  const defaultPort = scheme === 'redis+sentinel:' ? DEFAULT_SENTINEL_PORT : DEFAULT_PORT;
  const nodes = hostList.split(',').map((h) => parseHostPort(h, defaultPort, fail));
  const auth = { ...(username !== undefined && { username }), ...(password !== undefined && { password }) };

  switch (scheme) {
    case 'redis:':
    case 'rediss:': {
      if (nodes.length !== 1) fail('several hosts need redis+sentinel:// or redis+cluster://');
      allowParams(params, ['db'], fail);
      if (path !== '' && params.has('db')) fail('give the database either in the path or as ?db=, not both');
      const db = parseDb(path !== '' ? path : (params.get('db') ?? '0'), fail);
      return { kind: 'single', node: nodes[0]!, tls: scheme === 'rediss:', ...auth, db };
    }
    case 'redis+sentinel:': {
      allowParams(params, ['db', 'sentinelPassword'], fail);
      const sentinelPassword = params.get('sentinelPassword') || undefined;
      const masterName = decode(path, 'master name', fail);
      if (masterName === '' || masterName.includes('/')) fail('the path must be the sentinel master name, e.g. /mymaster');
      const db = parseDb(params.get('db') ?? '0', fail);
      return { kind: 'sentinel', sentinels: nodes, masterName, ...auth, ...(sentinelPassword !== undefined && { sentinelPassword }), db };
    }
    default: {
      allowParams(params, [], fail);
      // Redis Cluster has only database 0.
      if (path !== '' && path !== '0') fail('Redis Cluster has no databases other than 0; remove the path');
      return { kind: 'cluster', nodes, ...auth };
    }
  }
}

/** The URL with any user information replaced by `***`, safe to log. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}

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
    client.on('ready', onReady);
    client.on('close', onClose);
    client.on('end', onEnd);
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}

/** Capped exponential back-off with a little jitter; never gives up. */
function reconnectDelay(attempt: number): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(attempt - 1, 10));
  return Math.min(MAX_RECONNECT_DELAY_MS, Math.round(base * (0.8 + Math.random() * 0.4)));
}

function attachErrorLogger(client: Redis | Cluster, options: RedisClientOptions, url: string): void {
  const interval = options.errorLogIntervalMs ?? DEFAULT_ERROR_LOG_INTERVAL_MS;
  const log = toLogFn(options.log);
  const target = redactRedisUrl(url);
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLoggedAt < interval) {
      suppressed += 1;
      return;
    }
    lastLoggedAt = now;
    log({ err: err.message, code: (err as NodeJS.ErrnoException).code, redis: target, connection: options.name, suppressed }, 'redis connection error');
    suppressed = 0;
  });
}

function toLogFn(log: RedisLog | undefined): (obj: object, msg: string) => void {
  if (log === undefined) return (obj, msg) => console.warn(msg, obj);
  if (typeof log === 'function') return log;
  return (obj, msg) => log.warn(obj, msg);
}

function parseHostPort(raw: string, defaultPort: number, fail: (why: string) => never): RedisNode {
  let host: string;
  let portText: string | undefined;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) fail(`unterminated IPv6 address in "${raw}"`);
    host = raw.slice(1, close);
    const after = raw.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail(`unexpected "${after}" after an IPv6 address`);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = raw.lastIndexOf(':');
    host = colon >= 0 ? raw.slice(0, colon) : raw;
    portText = colon >= 0 ? raw.slice(colon + 1) : undefined;
  }
  if (host === '') fail('a host is missing');
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) fail(`invalid host "${host}"`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) fail(`invalid port "${portText}"`);
    port = Number(portText);
    if (port < 1 || port > 65_535) fail(`port ${port} is out of range`);
  }
  return { host, port };
}

function parseQuery(query: string, fail: (why: string) => never): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq >= 0 ? pair.slice(0, eq) : pair, 'query parameter', fail);
    const value = decode(eq >= 0 ? pair.slice(eq + 1) : '', 'query parameter', fail);
    if (params.has(name)) fail(`query parameter "${name}" is repeated`);
    params.set(name, value);
  }
  return params;
}

function allowParams(params: Map<string, string>, allowed: readonly string[], fail: (why: string) => never): void {
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      fail(`unknown query parameter "${name}"${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    }
  }
}

function parseDb(text: string, fail: (why: string) => never): number {
  if (!/^\d{1,5}$/.test(text)) fail(`database must be a non-negative integer, got "${text}"`);
  return Number(text);
}

function decode(text: string, what: string, fail: (why: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`malformed percent-encoding in the ${what}`);
  }
}
