/**
 * The validated, normalised configuration the rest of sidecache reads.
 * Durations are milliseconds, sizes are bytes; `load.ts` turns the YAML file into this shape.
 * A section whose normaliser converts no unit is the schema's own type (`Static`, defaults filled
 * in); the interfaces below are the sections with converted (or derived) keys.
 */
import type { Static } from '@sinclair/typebox';
import type { RawRule, RawUpstream } from './schema.js';
import type { RefreshAheadSchema } from './schema/cache.js';
import type { AuditSchema } from './schema/services.js';
import type { SCOPES } from './schema/kit.js';

export type CacheScope = (typeof SCOPES)[number];

/** What a client `Cache-Control: no-cache` (or `Pragma: no-cache`) does for an upstream. */
export type ClientNoCacheMode = RawUpstream['clientNoCache'];

/** Query-parameter condition of a rule: a required value, or presence (true) / absence (false). */
export type QueryCondition = RawRule['query'][string];

export interface CacheRuleConfig {
  /** Stable name used in logs, audit action types and metrics; defaults to `<upstream>.rule<N>`. */
  readonly name: string;
  /** Upper-case HTTP methods this rule matches. */
  readonly methods: readonly string[];
  /** Path pattern relative to the upstream prefix, with `:param` segments and an optional trailing `*`. */
  readonly path: string;
  readonly query: Readonly<Record<string, QueryCondition>>;
  /** false = matched requests always pass through uncached (e.g. `/limits`, OAuth). */
  readonly cache: boolean;
  readonly ttlMs: number;
  readonly scope: CacheScope;
  /** Lower-case request header names whose values partition the entry, on top of the upstream defaults. */
  readonly vary: readonly string[];
  /** Tag templates such as `sf:{type}:{id}`, filled from path params. */
  readonly tags: readonly string[];
  readonly statuses: readonly number[];
  /** When set, 404 responses are cached for this long (negative caching is opt-in). */
  readonly negativeTtlMs: number | null;
  readonly maxBodyBytes: number;
  /** Key includes a hash of the canonicalised request body (cacheable POST reads). */
  readonly bodyKey: boolean;
  readonly respectCacheControl: boolean;
  /**
   * `rule`: the rule's ttl and stale windows decide (API mode); `origin`: the upstream's caching
   * headers decide, as an RFC 9111 shared cache (standards mode, see README).
   */
  readonly freshness: 'rule' | 'origin';
  /** An expired entry is kept this long past its stale windows: for conditional refetches and max-stale. */
  readonly keepExpiredMs: number;
  /** Past its ttl but within this window an entry is served at once while one background fetch refreshes it. */
  readonly staleWhileRevalidateMs: number;
  /** Past its ttl but within this window an entry is served when the upstream fails (5xx, 429, timeout, …). */
  readonly staleIfErrorMs: number;
  /** Hot entries are refreshed shortly before their ttl ends. */
  readonly refreshAhead: boolean;
  /** Tag templates a successful (2xx) unsafe request invalidates (consumed by the invalidation engine). */
  readonly invalidates: readonly string[];
  /** Audit action type template (default: the rule name), e.g. `salesforce.sobject.read`. */
  readonly action: string | null;
  /** Audit resource type / id templates filled from path params, e.g. `{type}` and `{id}`. */
  readonly resourceType: string | null;
  readonly resourceId: string | null;
}

export interface PoolConfig {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/** `add`: headers set on every forwarded request (overriding the client's value); `remove`: lower-case names removed from it. */
export type HeaderRewriteConfig = Readonly<RawUpstream['requestHeaders']>;

export type { ConcurrencyLimitConfig, RateLimitConfig, RateLimitSubjectKind, UpstreamBreakerConfig, UpstreamProtectionConfig } from './protection.js';
import type { RateLimitConfig, UpstreamProtectionConfig } from './protection.js';

/** `upstreams[].quotaSaver`: `threshold` is the share of the reported limit, in (0, 1], at which the mode turns on. */
export type QuotaSaverConfig = Readonly<RawUpstream['quotaSaver']>;

export interface UpstreamConfig {
  readonly name: string;
  /** Path prefix on sidecache, e.g. `/salesforce` (no trailing slash). */
  readonly prefix: string;
  /** Absolute http(s) URL, or null when its environment variable is unset (upstream disabled). */
  readonly target: URL | null;
  /**
   * The URL clients reach this upstream at (`https://sidecache.internal/salesforce`, no trailing
   * slash), written into OAuth responses; null: derived per request from its Host and the prefix.
   */
  readonly publicUrl: string | null;
  readonly quotaSaver: QuotaSaverConfig;
  readonly pool: PoolConfig;
  readonly requestHeaders: HeaderRewriteConfig;
  readonly clientNoCache: ClientNoCacheMode;
  /** Concurrency limit, failure-rate breaker and Retry-After pause for calls to this upstream. */
  readonly protection: UpstreamProtectionConfig;
  /** Token bucket per caller; null = callers are not rate limited. */
  readonly rateLimit: RateLimitConfig | null;
  /** Lower-case request headers every cache key of this upstream varies on: its own (default `accept`) plus its preset's. */
  readonly vary: readonly string[];
  /** Lower-case media types the upstream serves, its default first; empty: `Accept` is not negotiated. */
  readonly mediaTypes: readonly string[];
  readonly rules: readonly CacheRuleConfig[];
}

export interface MemoryTierConfig {
  readonly enabled: boolean;
  readonly maxBytes: number;
  readonly maxEntries: number;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Upper bound for a streamed pass-through request body; 413 beyond it. */
  readonly maxRequestBodyBytes: number;
  /** Upper bound for a request body buffered to build a cache key (body-keyed rules). */
  readonly maxKeyedBodyBytes: number;
  /** How long SIGTERM waits for in-flight requests before closing connections. */
  readonly shutdownGraceMs: number;
  readonly requestIdHeader: string;
  readonly logLevel: string;
  /** Request line plus headers, at most; 431 beyond (node's `maxHeaderSize`). */
  readonly maxHeaderBytes: number;
  /** The hit lane writes a plain hit's head and body to the socket itself (server/hit-wire.ts); false: through `writeHead`. */
  readonly directHitWrites: boolean;
  /**
   * The hit lane answers the hits of one event-loop turn together at its end (server/turn-batch.ts);
   * false: each as soon as it is decided.
   */
  readonly batchHitWrites: boolean;
  readonly requestBody: RequestBodyConfig;
}

/** How slowly a client may send a request body, and how much is read before an upstream slot is taken. */
export interface RequestBodyConfig {
  /** No body byte for this long: 408 `request_body_timeout`; 0 = off. */
  readonly idleTimeoutMs: number;
  /** Average bytes per second a body must keep up once `minRateAfterMs` has passed; 0 = off. */
  readonly minBytesPerSecond: number;
  readonly minRateAfterMs: number;
  /** Bodies up to this size are received whole before the upstream call takes a concurrency slot. */
  readonly bufferUpToBytes: number;
}

/** Session identity taken from request headers (`sessions:`). */
export interface SessionsConfig {
  /** Header carrying the app's session token (also what `session`-scoped rules partition by). */
  readonly header: string;
  /** Cookie read when the header is absent; null = none. */
  readonly cookie: string | null;
  /** Header carrying the app's user identifier. */
  readonly userHeader: string;
  /** Mint a token (32 random bytes, hex) for requests without one and return it in `header`. */
  readonly mint: boolean;
  readonly ttlMs: number;
  /** `last_accessed` is written at most once per session per this interval. */
  readonly touchIntervalMs: number;
  readonly cleanupIntervalMs: number;
  /** Forward the session and user headers upstream (default: stripped). */
  readonly forwardIdentityHeaders: boolean;
}

/** One audit row per proxied request (`audit:`). */
export interface AuditConfig {
  readonly enabled: boolean;
  readonly flushIntervalMs: number;
  readonly batchSize: number;
  /** Events held in memory at most; beyond it they go straight to the spool. */
  readonly bufferMax: number;
  /** Where batches are spooled while Postgres is unreachable (default `<dataDir>/audit-spool`). */
  readonly spoolDir: string;
  readonly retentionDays: number;
  readonly partitionsAheadMonths: number;
  /** Addresses/CIDRs of proxies whose X-Forwarded-For is believed (Fastify `trustProxy`). */
  readonly trustedProxies: readonly string[];
  /** When the audit trail can be neither written nor spooled: true = refuse requests (503). */
  readonly failClosed: boolean;
  /** What of the caller's address a row keeps (`audit.ipAddress`). */
  readonly ipAddress: Static<typeof AuditSchema>['ipAddress'];
  /** Whether a row keeps the User-Agent (`audit.userAgent`). */
  readonly userAgent: Static<typeof AuditSchema>['userAgent'];
}

/** The admin listener (`admin:`). */
export interface AdminConfig {
  readonly host: string;
  readonly port: number;
  /** Bearer token for `/admin/*`; null = admin routes disabled. */
  readonly token: string | null;
}

/** After `failureThreshold` consecutive errors or timeouts a tier is skipped for `cooldownMs`, then probed. */
export interface BreakerConfig {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
}

export interface RedisTierConfig {
  /** redis://, rediss://, redis+sentinel:// or redis+cluster:// URL; null = tier off. */
  readonly url: string | null;
  readonly readTimeoutMs: number;
  /** Bodies larger than this are stored compressed. */
  readonly compressAboveBytes: number;
  /** Pending background writes; beyond it a write is dropped and counted. */
  readonly writeQueueSize: number;
}

export interface PostgresTierConfig {
  readonly enabled: boolean;
  readonly readTimeoutMs: number;
  readonly writeQueueSize: number;
  readonly sweepIntervalMs: number;
  readonly sweepBatchSize: number;
  readonly hitFlushIntervalMs: number;
}

export interface CacheConfig {
  /** Secret for hashing credentials into cache keys; null = persisted in the database (or random per process without one). */
  readonly keySecret: string | null;
  /** Encryption at rest of the shared tiers: the current key and older ones, as written (secrets; parsed by config/encryption-keys.ts). */
  readonly encryption: { readonly key: string | null; readonly keys: string | null };
  /** Separates deployments sharing one Redis: keys are `sidecache:<namespace>:…`. */
  readonly namespace: string;
  readonly memory: MemoryTierConfig;
  readonly redis: RedisTierConfig;
  readonly postgres: PostgresTierConfig;
  readonly breaker: BreakerConfig;
  readonly refreshAhead: RefreshAheadConfig;
}

/** Refresh-ahead of hot entries for rules with `refreshAhead: true` (`cache.refreshAhead:`). */
export type RefreshAheadConfig = Readonly<Static<typeof RefreshAheadSchema>>;

/** Postgres for the cache tier, audit and sessions; embedded PGlite in `dataDir` when `url` is null. */
export interface DatabaseConfig {
  readonly url: string | null;
  readonly dataDir: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** One change feed's settings; `secret` null = the feed is off and its route absent. */
export interface HookSourceConfig {
  readonly secret: string | null;
}

/** Change feeds that invalidate the cache when data changes outside sidecache (`hooks:`). */
export interface HooksConfig {
  /** Larger deliveries get 413. */
  readonly maxBodyBytes: number;
  /** Jira Cloud webhooks; `upstream` is the one whose write rules say what an issue change invalidates. */
  readonly jira: HookSourceConfig & { readonly upstream: string };
  /** Salesforce CDC relay and Outbound Messages (the latter only with `organizationId`). */
  readonly salesforce: HookSourceConfig & { readonly organizationId: string | null; readonly upstream: string };
  /** `POST /hooks/invalidate`, the admin invalidation body from anything else that knows what changed. */
  readonly generic: HookSourceConfig;
  /** The Pub/Sub API subscriber (Salesforce Change Data Capture over gRPC); null = off. */
  readonly salesforcePubSub: SalesforcePubSubConfig | null;
}

/** How the subscriber signs in: a connected app's client credentials, or a JWT bearer assertion for `username`. */
export type SalesforcePubSubAuth =
  | { readonly flow: 'client_credentials'; readonly clientSecret: string }
  | {
      readonly flow: 'jwt_bearer';
      readonly username: string;
      /** The assertion's `aud`: the login URL unless set. */
      readonly audience: string;
      /** PEM, or null when read from `privateKeyFile` at each sign-in. */
      readonly privateKey: string | null;
      readonly privateKeyFile: string | null;
    };

/** `hooks.salesforcePubSub`: subscribe to a Change Data Capture channel and invalidate what changes. */
export interface SalesforcePubSubConfig {
  /** The connected app's consumer key. */
  readonly clientId: string;
  readonly auth: SalesforcePubSubAuth;
  /** Origin of the token endpoint (`<loginUrl>/services/oauth2/token`). */
  readonly loginUrl: string;
  /** Pub/Sub API host:port. */
  readonly endpoint: string;
  /** Plaintext gRPC; allowed only to a loopback endpoint (tests, sandboxes). */
  readonly insecure: boolean;
  readonly topic: string;
  /** The upstream whose write rules say what a change invalidates (and all of which a replay gap invalidates). */
  readonly upstream: string;
  /** num_requested per FetchRequest (1–100). */
  readonly batchSize: number;
  /** Where a subscription with no stored replay id starts. */
  readonly replayPreset: 'LATEST' | 'EARLIEST';
}

export interface Config {
  readonly server: ServerConfig;
  readonly cache: CacheConfig;
  readonly database: DatabaseConfig;
  readonly sessions: SessionsConfig;
  readonly audit: AuditConfig;
  readonly admin: AdminConfig;
  readonly hooks: HooksConfig;
  readonly upstreams: readonly UpstreamConfig[];
  /** Query parameter names whose values are redacted in logs (lower-case). */
  readonly redactQueryParams: readonly string[];
}
