import { PROTECTION_DEFAULTS, QUOTA_SAVER_DEFAULTS } from '../../src/config/protection.js';
import type { CacheRuleConfig, Config, UpstreamConfig } from '../../src/config/types.js';

/** The `sessions:` defaults the config loader applies. */
export const testSessionsConfig: Config['sessions'] = {
  header: 'x-session-token',
  cookie: null,
  userHeader: 'x-user-id',
  mint: false,
  ttlMs: 30 * 86_400_000,
  touchIntervalMs: 60_000,
  cleanupIntervalMs: 3_600_000,
  forwardIdentityHeaders: false,
};

export type RuleInput = Partial<CacheRuleConfig> & Pick<CacheRuleConfig, 'path'>;
type UpstreamInput = Partial<Omit<UpstreamConfig, 'rules' | 'target'>> & { target: string | null; rules?: RuleInput[] };

/** A rule with the same defaults the config loader applies. */
export function rule(input: RuleInput, index = 0): CacheRuleConfig {
  return {
    name: `rule${index}`,
    methods: ['GET'],
    query: {},
    cache: true,
    ttlMs: 300_000,
    scope: 'authorization',
    vary: [],
    tags: [],
    statuses: [200, 203],
    negativeTtlMs: null,
    maxBodyBytes: 1024 * 1024,
    bodyKey: false,
    respectCacheControl: false,
    freshness: 'rule',
    keepExpiredMs: 3_600_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 7_200_000,
    refreshAhead: false,
    invalidates: [],
    action: null,
    resourceType: null,
    resourceId: null,
    ...input,
  };
}

export function upstream(input: UpstreamInput): UpstreamConfig {
  return {
    name: 'api',
    prefix: '/api',
    pool: { connections: 16, connectTimeoutMs: 2000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000, keepAliveTimeoutMs: 10_000 },
    requestHeaders: { add: {}, remove: [] },
    clientNoCache: 'refresh',
    vary: ['accept'],
    mediaTypes: [],
    protection: PROTECTION_DEFAULTS,
    rateLimit: null,
    publicUrl: null,
    quotaSaver: QUOTA_SAVER_DEFAULTS,
    ...input,
    target: input.target === null ? null : new URL(input.target),
    rules: (input.rules ?? []).map((r, i) => rule(r, i)),
  };
}

/** A complete normalised Config for tests, built without the YAML loader. */
export function testConfig(upstreams: UpstreamInput[], overrides: {
    server?: Partial<Config['server']>;
    cache?: Partial<Config['cache']>;
    database?: Partial<Config['database']>;
    sessions?: Partial<Config['sessions']>;
    audit?: Partial<Config['audit']>;
    admin?: Partial<Config['admin']>;
    hooks?: Partial<Config['hooks']>;
  } = {}): Config {
  return {
    server: {
      host: '127.0.0.1',
      port: 0,
      maxRequestBodyBytes: 1024 * 1024 * 1024,
      maxKeyedBodyBytes: 1024 * 1024,
      shutdownGraceMs: 5000,
      requestIdHeader: 'x-request-id',
      logLevel: 'silent',
      maxHeaderBytes: 16 * 1024,
      directHitWrites: true,
      batchHitWrites: true,
      requestBody: { idleTimeoutMs: 10_000, minBytesPerSecond: 1024, minRateAfterMs: 10_000, bufferUpToBytes: 1024 * 1024 },
      ...overrides.server,
    },
    cache: {
      keySecret: 'test-secret',
      encryption: { key: null, keys: null },
      namespace: 'test',
      memory: { enabled: true, maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 },
      redis: { url: null, readTimeoutMs: 50, compressAboveBytes: 8192, writeQueueSize: 1000 },
      postgres: { enabled: false, readTimeoutMs: 250, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
      breaker: { failureThreshold: 5, cooldownMs: 5000 },
      refreshAhead: { budgetPerMinute: 60, lead: 0.1, maxTracked: 10_000 },
      ...overrides.cache,
    },
    database: { url: null, dataDir: 'memory://', poolSize: 4, statementTimeoutMs: 5000, connectTimeoutMs: 2000, ...overrides.database },
    sessions: { ...testSessionsConfig, ...overrides.sessions },
    audit: {
      enabled: false,
      flushIntervalMs: 100,
      batchSize: 500,
      bufferMax: 100_000,
      spoolDir: 'memory://',
      retentionDays: 90,
      partitionsAheadMonths: 2,
      trustedProxies: [],
      failClosed: false,
      ipAddress: 'full',
      userAgent: 'full',
      ...overrides.audit,
    },
    admin: { host: '127.0.0.1', port: 0, token: null, ...overrides.admin },
    hooks: {
      maxBodyBytes: 1024 * 1024,
      jira: { secret: null, upstream: 'jira' },
      salesforce: { secret: null, organizationId: null, upstream: 'salesforce' },
      generic: { secret: null },
      salesforcePubSub: null,
      ...overrides.hooks,
    },
    upstreams: upstreams.map(upstream),
    redactQueryParams: ['access_token', 'token', 'password'],
  };
}
