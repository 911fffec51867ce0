import type { Static } from '@sinclair/typebox';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { DEFAULTS, type AdminSchema, type AuditSchema, type CacheSchema, type DatabaseSchema, type SessionsSchema } from './schema.js';
import type { AdminConfig, AuditConfig, CacheConfig, DatabaseConfig, SessionsConfig } from './types.js';
import { parseDuration, parseSize } from './units.js';

const REDIS_SCHEMES = ['redis:', 'rediss:', 'redis+sentinel:', 'redis+cluster:'];
const POSTGRES_SCHEMES = ['postgres:', 'postgresql:'];

/** Normalises `cache:` (memory, Redis and Postgres tiers, breaker) after it passed the schema. */
export function normaliseCache(raw: Static<typeof CacheSchema>, problems: string[]): CacheConfig {
  const memory = raw.memory ?? {};
  const redis = raw.redis ?? {};
  const postgres = raw.postgres ?? {};
  const breaker = raw.breaker ?? {};
  return {
    keySecret: emptyToNull(raw.keySecret),
    namespace: raw.namespace ?? DEFAULTS.namespace,
    memory: {
      enabled: memory.enabled ?? DEFAULTS.memory.enabled,
      maxBytes: parseSize(memory.maxBytes ?? DEFAULTS.memory.maxBytes),
      maxEntries: memory.maxEntries ?? DEFAULTS.memory.maxEntries,
    },
    redis: {
      url: checkedUrl(emptyToNull(redis.url), REDIS_SCHEMES, 'cache.redis.url', problems),
      readTimeoutMs: parseDuration(redis.readTimeout ?? DEFAULTS.redis.readTimeout),
      compressAboveBytes: parseSize(redis.compressAbove ?? DEFAULTS.redis.compressAbove),
      writeQueueSize: redis.writeQueue ?? DEFAULTS.redis.writeQueue,
    },
    postgres: {
      enabled: postgres.enabled ?? DEFAULTS.postgres.enabled,
      readTimeoutMs: parseDuration(postgres.readTimeout ?? DEFAULTS.postgres.readTimeout),
      writeQueueSize: postgres.writeQueue ?? DEFAULTS.postgres.writeQueue,
      sweepIntervalMs: parseDuration(postgres.sweepInterval ?? DEFAULTS.postgres.sweepInterval),
      sweepBatchSize: postgres.sweepBatch ?? DEFAULTS.postgres.sweepBatch,
      hitFlushIntervalMs: parseDuration(postgres.hitFlushInterval ?? DEFAULTS.postgres.hitFlushInterval),
    },
    breaker: {
      failureThreshold: breaker.failureThreshold ?? DEFAULTS.breaker.failureThreshold,
      cooldownMs: parseDuration(breaker.cooldown ?? DEFAULTS.breaker.cooldown),
    },
    refreshAhead: {
      budgetPerMinute: raw.refreshAhead?.budgetPerMinute ?? DEFAULTS.refreshAhead.budgetPerMinute,
      lead: raw.refreshAhead?.lead ?? DEFAULTS.refreshAhead.lead,
      maxTracked: raw.refreshAhead?.maxTracked ?? DEFAULTS.refreshAhead.maxTracked,
    },
  };
}

/** Normalises `database:`; an empty URL means the embedded PGlite in `dataDir`. */
export function normaliseDatabase(raw: Static<typeof DatabaseSchema>, problems: string[]): DatabaseConfig {
  return {
    url: checkedUrl(emptyToNull(raw.url), POSTGRES_SCHEMES, 'database.url', problems),
    dataDir: raw.dataDir ?? DEFAULTS.database.dataDir,
    poolSize: raw.poolSize ?? DEFAULTS.database.poolSize,
    statementTimeoutMs: parseDuration(raw.statementTimeout ?? DEFAULTS.database.statementTimeout),
    connectTimeoutMs: parseDuration(raw.connectTimeout ?? DEFAULTS.database.connectTimeout),
  };
}

/** Normalises `sessions:`. */
export function normaliseSessions(raw: Static<typeof SessionsSchema>): SessionsConfig {
  const d = DEFAULTS.sessions;
  return {
    header: (raw.header ?? d.header).toLowerCase(),
    cookie: emptyToNull(raw.cookie),
    userHeader: (raw.userHeader ?? d.userHeader).toLowerCase(),
    mint: raw.mint ?? d.mint,
    ttlMs: parseDuration(raw.ttl ?? d.ttl),
    touchIntervalMs: parseDuration(raw.touchInterval ?? d.touchInterval),
    cleanupIntervalMs: parseDuration(raw.cleanupInterval ?? d.cleanupInterval),
    forwardIdentityHeaders: raw.forwardIdentityHeaders ?? d.forwardIdentityHeaders,
  };
}

/** Normalises `audit:`; the spool lives under the data directory unless configured. */
export function normaliseAudit(raw: Static<typeof AuditSchema>, dataDir: string, problems: string[]): AuditConfig {
  const d = DEFAULTS.audit;
  const trustedProxies = raw.trustedProxies ?? [];
  trustedProxies.forEach((entry, i) => {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || extra !== undefined) {
      problems.push(`audit.trustedProxies[${i}]: must be an IP address or CIDR such as "10.0.0.0/8"`);
    }
  });
  return {
    enabled: raw.enabled ?? d.enabled,
    flushIntervalMs: parseDuration(raw.flushInterval ?? d.flushInterval),
    batchSize: raw.batchSize ?? d.batchSize,
    bufferMax: raw.bufferMax ?? d.bufferMax,
    spoolDir: raw.spoolDir ?? join(dataDir, 'audit-spool'),
    retentionDays: raw.retentionDays ?? d.retentionDays,
    partitionsAheadMonths: raw.partitionsAhead ?? d.partitionsAhead,
    trustedProxies: [...trustedProxies],
    failClosed: raw.failClosed ?? d.failClosed,
  };
}

/** Normalises `admin:`; an empty token disables the `/admin/*` routes. */
export function normaliseAdmin(raw: Static<typeof AdminSchema>): AdminConfig {
  return {
    host: raw.host ?? DEFAULTS.admin.host,
    port: raw.port ?? DEFAULTS.admin.port,
    token: emptyToNull(raw.token),
  };
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
