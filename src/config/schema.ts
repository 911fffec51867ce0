/**
 * The schema of the raw YAML file, after `${VAR}` interpolation and before normalisation.
 * Every object refuses unknown keys. A key set to null (or left empty) takes its default.
 * Each node carries `errorMessage`: the words a problem line uses when the node is invalid.
 * Defaults live in `DEFAULTS` (used by the loader) and are repeated as `default` annotations;
 * those of `protection` live in `PROTECTION_DEFAULTS`, the normalised form the guard reads.
 */
import { KindGuard, Type, type Static, type TLiteral, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { PROTECTION_DEFAULTS, QUOTA_SAVER_DEFAULTS } from './protection.js';
import { DURATION_EXPECTED, DURATION_PATTERN, SIZE_EXPECTED, SIZE_PATTERN } from './units.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const SCOPES = ['authorization', 'session', 'shared'] as const;

/** Defaults applied by the loader when neither the file nor its `defaults:` section sets a key. */
export const DEFAULTS = {
  server: {
    host: '0.0.0.0',
    port: 8080,
    maxRequestBodyBytes: '1GB',
    maxKeyedBodyBytes: '1MB',
    shutdownGrace: '10s',
    requestIdHeader: 'x-request-id',
    logLevel: 'info',
    // Node's own default, and Salesforce's limit for the request line and headers together.
    maxHeaderBytes: '16KB',
    requestBody: { idleTimeout: '10s', minBytesPerSecond: '1KB', minRateAfter: '10s', bufferUpTo: '1MB' },
  },
  memory: { enabled: true, maxBytes: '256MB', maxEntries: 100_000 },
  namespace: 'default',
  redis: { readTimeout: '50ms', compressAbove: '8KB', writeQueue: 10_000 },
  postgres: { enabled: true, readTimeout: '250ms', writeQueue: 10_000, sweepInterval: '60s', sweepBatch: 1000, hitFlushInterval: '5s' },
  breaker: { failureThreshold: 5, cooldown: '5s' },
  refreshAhead: { budgetPerMinute: 60, lead: 0.1, maxTracked: 10_000 },
  sessions: { header: 'x-session-token', userHeader: 'x-user-id', mint: false, ttl: '30d', touchInterval: '60s', cleanupInterval: '1h', forwardIdentityHeaders: false },
  audit: { enabled: true, flushInterval: '100ms', batchSize: 500, bufferMax: 100_000, retentionDays: 90, partitionsAhead: 2, failClosed: false },
  admin: { host: '127.0.0.1', port: 9090 },
  database: { dataDir: './data', poolSize: 10, statementTimeout: '5s', connectTimeout: '5s' },
  hooks: { maxBodyBytes: '1MB', jiraUpstream: 'jira', salesforceUpstream: 'salesforce' },
  salesforcePubSub: {
    loginUrl: 'https://login.salesforce.com',
    endpoint: 'api.pubsub.salesforce.com:7443',
    insecure: false,
    topic: '/data/ChangeEvents',
    batchSize: 100,
    replayPreset: 'LATEST',
  },
  redactQueryParams: [
    'access_token', 'refresh_token', 'token', 'id_token', 'client_secret', 'password', 'api_key',
    'apikey', 'key', 'sig', 'signature', 'code', 'session', 'sessionid', 'sid',
  ],
  // Room for protection.concurrency.max (256): beyond its connections a pool queues out of sight.
  pool: { connections: 256, connectTimeout: '5s', headersTimeout: '30s', bodyTimeout: '30s', keepAliveTimeout: '30s' },
  // Accept-Encoding is not keyed: the proxy sends its own and encodes for each client.
  upstream: { clientNoCache: 'refresh', vary: ['accept'], mediaTypes: [] },
  rule: {
    methods: ['GET'], cache: true, ttl: '5m', scope: 'authorization', statuses: [200, 203], negativeTtl: null,
    maxBodyBytes: '1MB', bodyKey: false, respectCacheControl: false,
    // Data read in the hour before a one-hour outage is still served during it (5 min ttl + 2 h).
    staleWhileRevalidate: '0s', staleIfError: '2h', refreshAhead: false,
  },
} as const;

const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const caseless = (word: string) => [...word].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join('');

const Duration = (fallback?: string | number | null) =>
  Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
    errorMessage: DURATION_EXPECTED,
    default: fallback,
  });
const Size = (fallback: string) =>
  Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: SIZE_PATTERN })], {
    errorMessage: SIZE_EXPECTED,
    default: fallback,
  });
const Bool = (fallback: boolean) => Type.Boolean({ errorMessage: 'must be true or false', default: fallback });
const HeaderName = (fallback?: string) =>
  Type.String({ pattern: TOKEN, errorMessage: 'must be an HTTP header name such as "x-request-id"', default: fallback });
const HeaderNames = (fallback?: readonly string[]) =>
  Type.Array(HeaderName(), { errorMessage: 'must be a list of HTTP header names', default: fallback });
const MediaTypes = Type.Array(
  Type.String({ pattern: "^[!#$&^_.+0-9A-Za-z-]+/[!#$&^_.+0-9A-Za-z-]+$", errorMessage: 'must be a media type such as "application/json" (no wildcards or parameters)' }),
  { errorMessage: 'must be a list of media types such as [application/json, application/xml]', default: DEFAULTS.upstream.mediaTypes },
);
const Templates = Type.Array(
  Type.String({ minLength: 1, errorMessage: 'must be a non-empty template such as "sf:{type}:{id}"' }),
  { errorMessage: 'must be a list of templates such as "sf:{type}:{id}"', default: [] },
);
const Method = Type.String({ pattern: `^(?:${HTTP_METHODS.map(caseless).join('|')})$` });
const Enum = <T extends string>(values: readonly T[], fallback: T) =>
  Type.Union(values.map((v) => Type.Literal(v)) as TLiteral<T>[], {
    errorMessage: `must be one of ${values.join(', ')}`,
    default: fallback,
  });
const Opt = Type.Optional;
const strict = { additionalProperties: false } as const;

export const ServerSchema = Type.Object(
  {
    host: Opt(Type.String({ minLength: 1, errorMessage: 'must be a host name or IP address', default: DEFAULTS.server.host })),
    port: Opt(Type.Integer({ minimum: 0, maximum: 65535, errorMessage: 'must be an integer from 0 to 65535', default: DEFAULTS.server.port })),
    maxRequestBodyBytes: Opt(Size(DEFAULTS.server.maxRequestBodyBytes)),
    maxKeyedBodyBytes: Opt(Size(DEFAULTS.server.maxKeyedBodyBytes)),
    shutdownGrace: Opt(Duration(DEFAULTS.server.shutdownGrace)),
    requestIdHeader: Opt(HeaderName(DEFAULTS.server.requestIdHeader)),
    logLevel: Opt(Enum(LOG_LEVELS, 'info')),
    maxHeaderBytes: Opt(Size(DEFAULTS.server.maxHeaderBytes)),
    requestBody: Opt(
      Type.Object(
        {
          // 0 turns either check off.
          idleTimeout: Opt(Duration(DEFAULTS.server.requestBody.idleTimeout)),
          minBytesPerSecond: Opt(Size(DEFAULTS.server.requestBody.minBytesPerSecond)),
          minRateAfter: Opt(Duration(DEFAULTS.server.requestBody.minRateAfter)),
          bufferUpTo: Opt(Size(DEFAULTS.server.requestBody.bufferUpTo)),
        },
        strict,
      ),
    ),
  },
  strict,
);

const PositiveInt = (fallback: number, max = 10_000_000) =>
  Type.Integer({ minimum: 1, maximum: max, errorMessage: `must be an integer from 1 to ${max}`, default: fallback });

export const CacheSchema = Type.Object(
  {
    // Empty string or absent: null, i.e. persisted in the database (random per process without one).
    keySecret: Opt(Type.String({ errorMessage: 'must be a string', default: null })),
    namespace: Opt(
      Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', errorMessage: 'must be 1-32 letters, digits, "_" or "-"', default: DEFAULTS.namespace }),
    ),
    redis: Opt(
      Type.Object(
        {
          // Empty or absent: the Redis tier (and the cross-instance bus) is off.
          url: Opt(Type.String({ errorMessage: 'must be a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL', default: null })),
          readTimeout: Opt(Duration(DEFAULTS.redis.readTimeout)),
          compressAbove: Opt(Size(DEFAULTS.redis.compressAbove)),
          writeQueue: Opt(PositiveInt(DEFAULTS.redis.writeQueue)),
        },
        strict,
      ),
    ),
    postgres: Opt(
      Type.Object(
        {
          enabled: Opt(Bool(DEFAULTS.postgres.enabled)),
          readTimeout: Opt(Duration(DEFAULTS.postgres.readTimeout)),
          writeQueue: Opt(PositiveInt(DEFAULTS.postgres.writeQueue)),
          sweepInterval: Opt(Duration(DEFAULTS.postgres.sweepInterval)),
          sweepBatch: Opt(PositiveInt(DEFAULTS.postgres.sweepBatch, 100_000)),
          hitFlushInterval: Opt(Duration(DEFAULTS.postgres.hitFlushInterval)),
        },
        strict,
      ),
    ),
    breaker: Opt(
      Type.Object(
        {
          failureThreshold: Opt(PositiveInt(DEFAULTS.breaker.failureThreshold, 1000)),
          cooldown: Opt(Duration(DEFAULTS.breaker.cooldown)),
        },
        strict,
      ),
    ),
    refreshAhead: Opt(
      Type.Object(
        {
          budgetPerMinute: Opt(Type.Integer({ minimum: 0, maximum: 100_000, errorMessage: 'must be an integer from 0 to 100000', default: DEFAULTS.refreshAhead.budgetPerMinute })),
          lead: Opt(Type.Number({ exclusiveMinimum: 0, maximum: 0.5, errorMessage: 'must be a fraction of the ttl above 0 and at most 0.5', default: DEFAULTS.refreshAhead.lead })),
          maxTracked: Opt(PositiveInt(DEFAULTS.refreshAhead.maxTracked, 1_000_000)),
        },
        strict,
      ),
    ),
    memory: Opt(
      Type.Object(
        {
          enabled: Opt(Bool(DEFAULTS.memory.enabled)),
          maxBytes: Opt(Size(DEFAULTS.memory.maxBytes)),
          maxEntries: Opt(Type.Integer({ minimum: 1, errorMessage: 'must be a positive integer', default: DEFAULTS.memory.maxEntries })),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const PoolSchema = Type.Object(
  {
    connections: Opt(Type.Integer({ minimum: 1, maximum: 1024, errorMessage: 'must be an integer from 1 to 1024', default: DEFAULTS.pool.connections })),
    connectTimeout: Opt(Duration(DEFAULTS.pool.connectTimeout)),
    headersTimeout: Opt(Duration(DEFAULTS.pool.headersTimeout)),
    bodyTimeout: Opt(Duration(DEFAULTS.pool.bodyTimeout)),
    keepAliveTimeout: Opt(Duration(DEFAULTS.pool.keepAliveTimeout)),
  },
  strict,
);

const ruleDefaultable = {
  ttl: Opt(Duration(DEFAULTS.rule.ttl)),
  scope: Opt(Enum(SCOPES, 'authorization')),
  statuses: Opt(
    Type.Array(Type.Integer({ minimum: 100, maximum: 599, errorMessage: 'must be an HTTP status from 100 to 599' }), {
      errorMessage: 'must be a list of HTTP statuses such as [200, 203]',
      default: DEFAULTS.rule.statuses,
    }),
  ),
  maxBodyBytes: Opt(Size(DEFAULTS.rule.maxBodyBytes)),
  staleWhileRevalidate: Opt(Duration(DEFAULTS.rule.staleWhileRevalidate)),
  staleIfError: Opt(Duration(DEFAULTS.rule.staleIfError)),
};

export const RuleSchema = Type.Object(
  {
    // Default: `<upstream>.rule<index in the effective rule list>`.
    name: Opt(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', errorMessage: 'must be 1-64 letters, digits, ".", "_" or "-"' })),
    methods: Opt(
      Type.Union([Method, Type.Array(Method, { minItems: 1 })], {
        errorMessage: `must be an HTTP method or a non-empty list of them (${HTTP_METHODS.join(', ')})`,
        default: DEFAULTS.rule.methods,
      }),
    ),
    path: Type.String({ pattern: '^/', errorMessage: 'must be a path pattern starting with "/"' }),
    query: Opt(
      Type.Record(
        Type.String(),
        Type.Union([Type.String(), Type.Boolean()], { errorMessage: 'must be a string (exact value), true (present) or false (absent)' }),
        { errorMessage: 'must be a mapping of query parameter names to conditions', default: {} },
      ),
    ),
    cache: Opt(Bool(DEFAULTS.rule.cache)),
    ...ruleDefaultable,
    vary: Opt(HeaderNames([])),
    tags: Opt(Templates),
    // Default null: 404 is not cached.
    negativeTtl: Opt(Duration(null)),
    bodyKey: Opt(Bool(DEFAULTS.rule.bodyKey)),
    respectCacheControl: Opt(Bool(DEFAULTS.rule.respectCacheControl)),
    // Refresh hot entries shortly before their ttl ends (within the upstream's refresh budget).
    refreshAhead: Opt(Bool(DEFAULTS.rule.refreshAhead)),
    invalidates: Opt(Templates),
    // Audit naming, templated from path params; default action: the rule name.
    action: Opt(Type.String({ minLength: 1, maxLength: 128, errorMessage: 'must be a template such as "salesforce.sobject.read"' })),
    resourceType: Opt(Type.String({ minLength: 1, maxLength: 128, errorMessage: 'must be a template such as "{type}"' })),
    resourceId: Opt(Type.String({ minLength: 1, maxLength: 128, errorMessage: 'must be a template such as "{id}"' })),
  },
  strict,
);

const P = PROTECTION_DEFAULTS;
const seconds = (ms: number) => ms / 1000;

export const ProtectionSchema = Type.Object(
  {
    // Unset keys fit pool.connections: max defaults to the smaller of the two, initial and min to at most max.
    concurrency: Opt(
      Type.Object(
        {
          initial: Opt(PositiveInt(P.concurrency.initial, 1024)),
          min: Opt(PositiveInt(P.concurrency.min, 1024)),
          max: Opt(PositiveInt(P.concurrency.max, 1024)),
          latencyTolerance: Opt(
            Type.Number({ exclusiveMinimum: 1, maximum: 100, errorMessage: 'must be a number above 1 and at most 100', default: P.concurrency.latencyTolerance }),
          ),
        },
        strict,
      ),
    ),
    // Deprecated: a fixed limit, i.e. concurrency { initial, min and max } all N (the loader warns).
    maxConcurrent: Opt(Type.Integer({ minimum: 1, maximum: 1024, errorMessage: 'must be an integer from 1 to 1024' })),
    maxQueue: Opt(Type.Integer({ minimum: 0, maximum: 1_000_000, errorMessage: 'must be an integer from 0 to 1000000', default: P.maxQueue })),
    queueTimeout: Opt(Duration(seconds(P.queueTimeoutMs))),
    breaker: Opt(
      Type.Object(
        {
          window: Opt(Duration(seconds(P.breaker.windowMs))),
          bucket: Opt(Duration(seconds(P.breaker.bucketMs))),
          minimumCalls: Opt(PositiveInt(P.breaker.minimumCalls, 100_000)),
          failureRate: Opt(Type.Number({ exclusiveMinimum: 0, maximum: 1, errorMessage: 'must be a number above 0 and at most 1', default: P.breaker.failureRate })),
          openFor: Opt(Duration(seconds(P.breaker.openMs))),
          halfOpenProbes: Opt(PositiveInt(P.breaker.halfOpenProbes, 1000)),
        },
        strict,
      ),
    ),
    retryAfterMax: Opt(Duration(seconds(P.retryAfterMaxMs))),
    retryAfterDefault: Opt(Duration(seconds(P.retryAfterDefaultMs))),
    retryOnReset: Opt(Bool(P.retryOnReset)),
    retryJitter: Opt(Duration(seconds(P.retryJitterMs))),
  },
  strict,
);

export const RateLimitSchema = Type.Object(
  {
    enabled: Opt(Bool(true)),
    by: Opt(Enum(['session', 'user', 'ip'] as const, 'session')),
    capacity: Opt(PositiveInt(120, 1_000_000)),
    refillPerSecond: Opt(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, errorMessage: 'must be a number above 0', default: 2 })),
    exemptHits: Opt(Bool(true)),
    maxSubjects: Opt(PositiveInt(100_000)),
    redisTimeout: Opt(Duration('50ms')),
  },
  strict,
);

export const UpstreamSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', errorMessage: 'must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter' }),
    prefix: Type.String({
      pattern: '^(?:/|(?:/(?!\\.\\.?(?:/|$))[^/?#\\s]+)+)$',
      errorMessage: 'must be a path such as "/salesforce": starting with "/", no trailing "/", no "//", "." or ".." segments',
    }),
    // Empty after interpolation: the upstream is disabled (target null, with a warning).
    target: Type.String({ errorMessage: 'must be an absolute http(s) URL' }),
    preset: Opt(Type.String({ pattern: '^[a-z][a-z0-9_-]*$', errorMessage: 'must be a preset name such as "salesforce"' })),
    pool: Opt(PoolSchema),
    requestHeaders: Opt(
      Type.Object(
        {
          add: Opt(
            Type.Record(Type.String(), Type.String({ pattern: '^[^\\r\\n\\x00]*$', errorMessage: 'must be a header value without CR, LF or NUL' }), {
              errorMessage: 'must be a mapping of header names to values',
              default: {},
            }),
          ),
          remove: Opt(HeaderNames([])),
        },
        strict,
      ),
    ),
    clientNoCache: Opt(Enum(['refresh', 'ignore'] as const, 'refresh')),
    vary: Opt(HeaderNames(DEFAULTS.upstream.vary)),
    // The media types the upstream serves, its default first: `Accept` is negotiated against them.
    // Absent: the preset's; empty: `Accept` is keyed and forwarded as sent.
    mediaTypes: Opt(MediaTypes),
    protection: Opt(ProtectionSchema),
    // Absent (or enabled: false): callers are not rate limited.
    rateLimit: Opt(RateLimitSchema),
    rules: Opt(Type.Array(RuleSchema, { errorMessage: 'must be a list of rules', default: [] })),
    // Settings of preset (or own) rules by rule name, merged over the rule: { salesforce.query: { ttl: 1m } }.
    overrides: Opt(
      Type.Record(Type.String(), Type.Partial(Type.Omit(RuleSchema, ['name']), strict), {
        errorMessage: 'must be a mapping of rule names to rule settings, such as { salesforce.query: { ttl: 1m } }',
        default: {},
      }),
    ),
    // Written into OAuth token and userinfo responses as instance_url; empty: derived from the request's Host and the prefix.
    publicUrl: Opt(Type.String({ errorMessage: 'must be an absolute http(s) URL such as "https://sidecache.internal/salesforce"', default: null })),
    quotaSaver: Opt(
      Type.Object(
        {
          enabled: Opt(Bool(QUOTA_SAVER_DEFAULTS.enabled)),
          threshold: Opt(Type.Number({ exclusiveMinimum: 0, maximum: 1, errorMessage: 'must be a share of the limit above 0 and at most 1, such as 0.9', default: QUOTA_SAVER_DEFAULTS.threshold })),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const DefaultsSchema = Type.Object(
  { pool: Opt(PoolSchema), protection: Opt(ProtectionSchema), rule: Opt(Type.Object(ruleDefaultable, strict)) },
  strict,
);

export const DatabaseSchema = Type.Object(
  {
    // Empty or absent: embedded PGlite in dataDir.
    url: Opt(Type.String({ errorMessage: 'must be a postgres:// or postgresql:// URL', default: null })),
    dataDir: Opt(Type.String({ minLength: 1, errorMessage: 'must be a directory path', default: DEFAULTS.database.dataDir })),
    poolSize: Opt(PositiveInt(DEFAULTS.database.poolSize, 1000)),
    statementTimeout: Opt(Duration(DEFAULTS.database.statementTimeout)),
    connectTimeout: Opt(Duration(DEFAULTS.database.connectTimeout)),
  },
  strict,
);

export const SessionsSchema = Type.Object(
  {
    header: Opt(HeaderName(DEFAULTS.sessions.header)),
    // Empty or absent: no cookie fallback.
    cookie: Opt(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]*$', errorMessage: 'must be a cookie name', default: null })),
    userHeader: Opt(HeaderName(DEFAULTS.sessions.userHeader)),
    mint: Opt(Bool(DEFAULTS.sessions.mint)),
    ttl: Opt(Duration(DEFAULTS.sessions.ttl)),
    touchInterval: Opt(Duration(DEFAULTS.sessions.touchInterval)),
    cleanupInterval: Opt(Duration(DEFAULTS.sessions.cleanupInterval)),
    forwardIdentityHeaders: Opt(Bool(DEFAULTS.sessions.forwardIdentityHeaders)),
  },
  strict,
);

export const AuditSchema = Type.Object(
  {
    enabled: Opt(Bool(DEFAULTS.audit.enabled)),
    flushInterval: Opt(Duration(DEFAULTS.audit.flushInterval)),
    batchSize: Opt(PositiveInt(DEFAULTS.audit.batchSize, 100_000)),
    bufferMax: Opt(PositiveInt(DEFAULTS.audit.bufferMax)),
    // Absent: <database.dataDir>/audit-spool.
    spoolDir: Opt(Type.String({ minLength: 1, errorMessage: 'must be a directory path' })),
    retentionDays: Opt(PositiveInt(DEFAULTS.audit.retentionDays, 36_500)),
    partitionsAhead: Opt(PositiveInt(DEFAULTS.audit.partitionsAhead, 24)),
    trustedProxies: Opt(
      Type.Array(Type.String({ minLength: 1, errorMessage: 'must be an IP address or CIDR such as "10.0.0.0/8"' }), {
        errorMessage: 'must be a list of IP addresses or CIDRs',
        default: [],
      }),
    ),
    failClosed: Opt(Bool(DEFAULTS.audit.failClosed)),
  },
  strict,
);

export const AdminSchema = Type.Object(
  {
    host: Opt(Type.String({ minLength: 1, errorMessage: 'must be a host name or IP address', default: DEFAULTS.admin.host })),
    port: Opt(Type.Integer({ minimum: 0, maximum: 65535, errorMessage: 'must be an integer from 0 to 65535', default: DEFAULTS.admin.port })),
    // Empty or absent: /admin/* routes are disabled.
    token: Opt(Type.String({ errorMessage: 'must be a string', default: null })),
  },
  strict,
);

// Each change feed is off (its route absent) while its secret is empty.
const HookSecret = Opt(Type.String({ errorMessage: 'must be a string (empty: this change feed is off)', default: null }));
const UpstreamName = (fallback: string) =>
  Opt(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', errorMessage: 'must be the name of a configured upstream', default: fallback }));

export const HooksSchema = Type.Object(
  {
    maxBodyBytes: Opt(Size(DEFAULTS.hooks.maxBodyBytes)),
    jira: Opt(Type.Object({ secret: HookSecret, upstream: UpstreamName(DEFAULTS.hooks.jiraUpstream) }, strict)),
    salesforce: Opt(
      Type.Object(
        {
          secret: HookSecret,
          // Empty: outbound messages are off (their OrganizationId cannot be checked).
          organizationId: Opt(Type.String({ pattern: '^(?:[A-Za-z0-9]{15}|[A-Za-z0-9]{18})?$', errorMessage: 'must be a 15- or 18-character Salesforce org id (00D…)', default: null })),
          upstream: UpstreamName(DEFAULTS.hooks.salesforceUpstream),
        },
        strict,
      ),
    ),
    generic: Opt(Type.Object({ secret: HookSecret }, strict)),
    // The Pub/Sub API subscriber (README "Salesforce Change Data Capture"); off while clientId is empty.
    salesforcePubSub: Opt(
      Type.Object(
        {
          clientId: Opt(Type.String({ errorMessage: "must be a string: the connected app's consumer key (empty: the subscriber is off)", default: null })),
          // Client credentials flow.
          clientSecret: Opt(Type.String({ errorMessage: 'must be a string', default: null })),
          // JWT bearer flow: the integration user and the key the connected app's certificate belongs to.
          username: Opt(Type.String({ errorMessage: 'must be a Salesforce username', default: null })),
          privateKey: Opt(Type.String({ errorMessage: 'must be a PEM RSA private key', default: null })),
          privateKeyFile: Opt(Type.String({ errorMessage: 'must be a file path', default: null })),
          audience: Opt(Type.String({ pattern: '^https?://', errorMessage: 'must be a URL such as "https://login.salesforce.com"', default: null })),
          loginUrl: Opt(Type.String({ pattern: '^https?://[^/?#]+/?$', errorMessage: 'must be an origin such as "https://mydomain.my.salesforce.com"', default: DEFAULTS.salesforcePubSub.loginUrl })),
          endpoint: Opt(Type.String({ pattern: '^[A-Za-z0-9.-]+:[0-9]{1,5}$', errorMessage: 'must be host:port such as "api.pubsub.salesforce.com:7443"', default: DEFAULTS.salesforcePubSub.endpoint })),
          insecure: Opt(Bool(DEFAULTS.salesforcePubSub.insecure)),
          topic: Opt(Type.String({ pattern: '^/(?:data|event)/[A-Za-z0-9_]+$', errorMessage: 'must be a channel such as "/data/ChangeEvents" or "/data/Sidecache__chn"', default: DEFAULTS.salesforcePubSub.topic })),
          upstream: UpstreamName(DEFAULTS.hooks.salesforceUpstream),
          batchSize: Opt(Type.Integer({ minimum: 1, maximum: 100, errorMessage: 'must be an integer from 1 to 100 (the Pub/Sub API maximum)', default: DEFAULTS.salesforcePubSub.batchSize })),
          replayPreset: Opt(Enum(['LATEST', 'EARLIEST'] as const, DEFAULTS.salesforcePubSub.replayPreset)),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const ConfigSchema = Type.Object(
  {
    server: Opt(ServerSchema),
    cache: Opt(CacheSchema),
    // Given: replaces the default list (DEFAULTS.redactQueryParams).
    redactQueryParams: Opt(
      Type.Array(Type.String({ minLength: 1, errorMessage: 'must be a query parameter name' }), {
        errorMessage: 'must be a list of query parameter names',
      }),
    ),
    database: Opt(DatabaseSchema),
    sessions: Opt(SessionsSchema),
    audit: Opt(AuditSchema),
    admin: Opt(AdminSchema),
    hooks: Opt(HooksSchema),
    defaults: Opt(DefaultsSchema),
    upstreams: Type.Array(UpstreamSchema, { minItems: 1, errorMessage: 'must be a non-empty list of upstreams' }),
  },
  strict,
);

/**
 * A preset file: `rules:`, appended after an upstream's own rules; `vary:`, request headers the
 * upstream reads, added to the upstream's vary list; `mediaTypes:`, used when the upstream sets none.
 */
export const PresetSchema = Type.Object(
  {
    vary: Opt(HeaderNames([])),
    mediaTypes: Opt(MediaTypes),
    rules: Type.Array(RuleSchema, { errorMessage: 'must be a list of rules' }),
  },
  strict,
);

export type RawUpstream = Static<typeof UpstreamSchema>;
export type RawRule = Static<typeof RuleSchema>;
export type RawRuleDefaults = Static<typeof DefaultsSchema>['rule'] & {};
export type RawPreset = Static<typeof PresetSchema>;

/**
 * Converts scalars only where the schema wants another type and the value does not already fit:
 * numeric strings to numbers (`port: ${PORT:-8080}` gives "8080"), "true"/"false" to booleans,
 * numbers and booleans to strings (`x-api-version: 2`). Also drops null-valued keys of objects.
 */
export function coerce(schema: TSchema, value: unknown): unknown {
  if (KindGuard.IsObject(schema) && isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== null);
    return Object.fromEntries(
      entries.map(([k, v]) => {
        const property = schema.properties[k];
        return [k, property ? coerce(property, v) : v];
      }),
    );
  }
  if (KindGuard.IsRecord(schema) && isRecord(value)) {
    const item = Object.values(schema.patternProperties)[0] as TSchema;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerce(item, v)]));
  }
  if (KindGuard.IsArray(schema) && Array.isArray(value)) return value.map((v) => coerce(schema.items, v));
  if (KindGuard.IsUnion(schema)) {
    if (Value.Check(schema, value)) return value;
    for (const variant of schema.anyOf) {
      const converted = coerce(variant, value);
      if (Value.Check(variant, converted)) return converted;
    }
    return value;
  }
  if (KindGuard.IsString(schema) && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if (typeof value !== 'string') return value;
  if ((KindGuard.IsNumber(schema) || KindGuard.IsInteger(schema)) && /^-?\d+(?:\.\d+)?$/.test(value.trim())) {
    return Number(value);
  }
  if (KindGuard.IsBoolean(schema) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** Every schema violation as one `<keypath>: <what was expected>` line, at most one per key path. */
export function schemaProblems(schema: TSchema, value: unknown, base: readonly (string | number)[] = []): string[] {
  const byPath = new Map<string, string>();
  for (const error of Value.Errors(schema, value)) {
    const path = keyPath([...base, ...pointerSegments(error.path)]);
    if (!byPath.has(path)) byPath.set(path, describe(error));
  }
  return [...byPath].map(([path, message]) => `${path}: ${message}`);
}

/** `['upstreams', 0, 'requestHeaders', 'add', 'x-foo']` -> `upstreams[0].requestHeaders.add["x-foo"]`. */
export function keyPath(segments: readonly (string | number)[]): string {
  return segments.reduce<string>(appendKey, '') || '(root)';
}

/** Appends one key to a key path: `.name`, `[3]` or `["x-foo"]`. */
export function appendKey(base: string, segment: string | number): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) return base === '' ? segment : `${base}.${segment}`;
  return `${base}[${JSON.stringify(segment)}]`;
}

function describe(error: ValueError): string {
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return 'unknown key';
  if (error.type === ValueErrorType.ObjectRequiredProperty) return 'is required';
  const message: unknown = error.schema['errorMessage'];
  if (typeof message === 'string') return message;
  if (error.type === ValueErrorType.Object) return 'must be a mapping of keys to values';
  if (error.type === ValueErrorType.Array) return 'must be a list';
  return 'has an invalid value';
}

function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^(?:0|[1-9]\d*)$/.test(segment) ? Number(segment) : segment));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
