import type { Static } from '@sinclair/typebox';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { CacheSchema } from './schema/cache.js';
import type { AdminSchema } from './schema/server.js';
import type { AuditSchema, DatabaseSchema, SessionsSchema } from './schema/services.js';
import type { AdminConfig, AuditConfig, CacheConfig, DatabaseConfig, SessionsConfig } from './types.js';
import { KeyRingError, parseEncryptionKeys } from './encryption-keys.js';
import { parseDuration, parseSize } from './units.js';

const REDIS_SCHEMES = ['redis:', 'rediss:', 'redis+sentinel:', 'redis+cluster:'];
const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

/** Normalises `cache:` (memory, Redis and Postgres tiers, breaker) after it passed the schema. */
export function normaliseCache(raw: Static<typeof CacheSchema>, problems: string[]): CacheConfig {
  const { memory, redis, postgres, breaker } = raw;
  return {
    keySecret: emptyToNull(raw.keySecret),
    encryption: checkedEncryption(emptyToNull(raw.encryption.key), emptyToNull(raw.encryption.keys), problems),
    namespace: raw.namespace,
    memory: { enabled: memory.enabled, maxBytes: parseSize(memory.maxBytes), maxEntries: memory.maxEntries },
    redis: {
      url: checkedUrl(emptyToNull(redis.url), REDIS_SCHEMES, 'cache.redis.url', problems),
      readTimeoutMs: parseDuration(redis.readTimeout),
      compressAboveBytes: parseSize(redis.compressAbove),
      writeQueueSize: redis.writeQueue,
    },
    postgres: {
      enabled: postgres.enabled,
      readTimeoutMs: parseDuration(postgres.readTimeout),
      writeQueueSize: postgres.writeQueue,
      sweepIntervalMs: parseDuration(postgres.sweepInterval),
      sweepBatchSize: postgres.sweepBatch,
      hitFlushIntervalMs: parseDuration(postgres.hitFlushInterval),
    },
    breaker: { failureThreshold: breaker.failureThreshold, cooldownMs: parseDuration(breaker.cooldown) },
    refreshAhead: { ...raw.refreshAhead },
  };
}

/** Normalises `database:`; an empty URL means the embedded PGlite in `dataDir`. */
export function normaliseDatabase(raw: Static<typeof DatabaseSchema>, problems: string[]): DatabaseConfig {
  return {
    url: checkedUrl(emptyToNull(raw.url), POSTGRES_SCHEMES, 'database.url', problems),
    dataDir: raw.dataDir,
    poolSize: raw.poolSize,
    statementTimeoutMs: parseDuration(raw.statementTimeout),
    connectTimeoutMs: parseDuration(raw.connectTimeout),
  };
}

/** Normalises `sessions:`. */
export function normaliseSessions(raw: Static<typeof SessionsSchema>): SessionsConfig {
  return {
    header: raw.header.toLowerCase(),
    cookie: emptyToNull(raw.cookie),
    userHeader: raw.userHeader.toLowerCase(),
    mint: raw.mint,
    ttlMs: parseDuration(raw.ttl),
    touchIntervalMs: parseDuration(raw.touchInterval),
    cleanupIntervalMs: parseDuration(raw.cleanupInterval),
    forwardIdentityHeaders: raw.forwardIdentityHeaders,
  };
}

/** Normalises `audit:`; the spool lives under the data directory unless configured. */
export function normaliseAudit(raw: Static<typeof AuditSchema>, dataDir: string, problems: string[]): AuditConfig {
  raw.trustedProxies.forEach((entry, i) => {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || extra !== undefined) {
      problems.push(`audit.trustedProxies[${i}]: must be an IP address or CIDR such as "10.0.0.0/8"`);
    }
  });
  return {
    enabled: raw.enabled,
    flushIntervalMs: parseDuration(raw.flushInterval),
    batchSize: raw.batchSize,
    bufferMax: raw.bufferMax,
    spoolDir: raw.spoolDir ?? join(dataDir, 'audit-spool'),
    retentionDays: raw.retentionDays,
    partitionsAheadMonths: raw.partitionsAhead,
    trustedProxies: [...raw.trustedProxies],
    failClosed: raw.failClosed,
    ipAddress: raw.ipAddress,
    userAgent: raw.userAgent,
  };
}

/** Normalises `admin:`; an empty token disables the `/admin/*` routes. */
export function normaliseAdmin(raw: Static<typeof AdminSchema>): AdminConfig {
  return { host: raw.host, port: raw.port, token: emptyToNull(raw.token) };
}

/** The encryption keys as written, after checking they parse (a problem names the setting, never the key). */
function checkedEncryption(key: string | null, keys: string | null, problems: string[]): CacheConfig['encryption'] {
  if (key === null && keys !== null) problems.push('cache.encryption.keys: older keys (CACHE_ENCRYPTION_KEYS) need a current key (CACHE_ENCRYPTION_KEY)');
  if (key !== null) {
    try {
      parseEncryptionKeys(key, keys);
    } catch (err) {
      if (!(err instanceof KeyRingError)) throw err;
      problems.push(err.message);
    }
  }
  return { key, keys };
}

function emptyToNull(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value.trim();
}

/**
 * Checks a service URL's scheme without ever echoing the URL (it may carry a password). Not
 * parsed with `URL`: sentinel and cluster URLs list several comma-separated hosts.
 */
function checkedUrl(url: string | null, schemes: readonly string[], at: string, problems: string[]): string | null {
  if (url === null) return null;
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\/[^\s]+$/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !schemes.includes(scheme)) {
    problems.push(`${at}: must use one of ${schemes.map((s) => `${s}//`).join(', ')}`);
  }
  return url;
}
