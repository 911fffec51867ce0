import { Type } from '@sinclair/typebox';
import { Bool, DirPath, Duration, Enum, HeaderName, Opt, PositiveInt, Section, Unset } from './kit.js';

/** `database:`, Postgres for the cache tier, audit and sessions. */
export const DatabaseSchema = Section({
  // Empty or absent: embedded PGlite in dataDir.
  url: Unset('must be a postgres:// or postgresql:// URL'),
  dataDir: DirPath('./data'),
  poolSize: PositiveInt(10, 1000),
  statementTimeout: Duration('5s'),
  connectTimeout: Duration('5s'),
});

/** `sessions:`, the session identity taken from request headers. */
export const SessionsSchema = Section({
  header: HeaderName('x-session-token'),
  // Empty or absent: no cookie fallback.
  cookie: Unset('must be a cookie name', "^[!#$%&'*+.^_`|~0-9A-Za-z-]*$"),
  userHeader: HeaderName('x-user-id'),
  mint: Bool(false),
  ttl: Duration('30d'),
  touchInterval: Duration('60s'),
  cleanupInterval: Duration('1h'),
  forwardIdentityHeaders: Bool(false),
});

/** `audit:`, one row per proxied request. */
export const AuditSchema = Section({
  enabled: Bool(true),
  flushInterval: Duration('100ms'),
  batchSize: PositiveInt(500, 100_000),
  bufferMax: PositiveInt(100_000),
  // Absent: <database.dataDir>/audit-spool.
  spoolDir: Opt(DirPath()),
  retentionDays: PositiveInt(90, 36_500),
  partitionsAhead: PositiveInt(2, 24),
  trustedProxies: Type.Array(Type.String({ minLength: 1, errorMessage: 'must be an IP address or CIDR such as "10.0.0.0/8"' }), {
    errorMessage: 'must be a list of IP addresses or CIDRs',
    default: [],
  }),
  failClosed: Bool(false),
  // What of the caller's address a row keeps: full, truncated (/24 IPv4, /48 IPv6) or none.
  ipAddress: Enum(['full', 'truncated', 'none'] as const, 'full'),
  // Whether a row keeps the User-Agent: full or none.
  userAgent: Enum(['full', 'none'] as const, 'full'),
});
