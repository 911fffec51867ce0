/** Sidecache's Redis URLs: parsing (standalone, TLS, Sentinel, Cluster) and redaction for logs. */

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

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;
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
