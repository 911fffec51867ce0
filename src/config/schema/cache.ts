import { Type } from '@sinclair/typebox';
import { Bool, Duration, PositiveInt, Section, Size, Unset } from './kit.js';

/** `cache.refreshAhead:` (no unit to convert: the normalised config reads it as it is). */
export const RefreshAheadSchema = Section({
  // Upstream calls refresh-ahead may make per minute, across all upstreams (0 = off).
  budgetPerMinute: Type.Integer({ minimum: 0, maximum: 100_000, errorMessage: 'must be an integer from 0 to 100000', default: 60 }),
  // An entry hit within its last `lead` fraction of ttl is refreshed in that window.
  lead: Type.Number({ exclusiveMinimum: 0, maximum: 0.5, errorMessage: 'must be a fraction of the ttl above 0 and at most 0.5', default: 0.1 }),
  // Hot entries remembered at most (least recently hit are forgotten first).
  maxTracked: PositiveInt(10_000, 1_000_000),
});

/** `cache:`, the tiers and what they share. */
export const CacheSchema = Section({
  // Empty string or absent: null, i.e. persisted in the database (random per process without one).
  keySecret: Unset('must be a string'),
  // Encryption at rest of the Redis and Postgres tiers (README, "Encryption at rest"). Empty or absent: off.
  encryption: Section({
    // The current key: 32 bytes as base64 or hex, optionally "id:" before it.
    key: Unset('must be a string: 32 bytes as base64 or hex'),
    // Older keys still read, comma-separated, each optionally "id:" before it.
    keys: Unset('must be a string: comma-separated keys'),
  }),
  namespace: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', errorMessage: 'must be 1-32 letters, digits, "_" or "-"', default: 'default' }),
  redis: Section({
    // Empty or absent: the Redis tier (and the cross-instance bus) is off.
    url: Unset('must be a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL'),
    readTimeout: Duration('50ms'),
    compressAbove: Size('8KB'),
    writeQueue: PositiveInt(10_000),
  }),
  postgres: Section({
    enabled: Bool(true),
    readTimeout: Duration('250ms'),
    writeQueue: PositiveInt(10_000),
    sweepInterval: Duration('60s'),
    sweepBatch: PositiveInt(1000, 100_000),
    hitFlushInterval: Duration('5s'),
  }),
  breaker: Section({
    failureThreshold: PositiveInt(5, 1000),
    cooldown: Duration('5s'),
  }),
  refreshAhead: RefreshAheadSchema,
  memory: Section({
    enabled: Bool(true),
    maxBytes: Size('256MB'),
    maxEntries: Type.Integer({ minimum: 1, errorMessage: 'must be a positive integer', default: 100_000 }),
  }),
});
