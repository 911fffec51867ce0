import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, HeaderNames, MediaTypes, Opt, Section, strict } from './kit.js';
import { OwnProtectionSchema, ProtectionSchema, RateLimitSchema } from './protection.js';
import { RuleDefaultsSchema, RuleSchema } from './rule.js';

/** `defaults.pool`: undici's pool per upstream. */
const PoolSchema = Section({
  // Room for protection.concurrency.max (256): beyond its connections a pool queues out of sight.
  connections: Type.Integer({ minimum: 1, maximum: 1024, errorMessage: 'must be an integer from 1 to 1024', default: 256 }),
  connectTimeout: Duration('5s'),
  headersTimeout: Duration('30s'),
  bodyTimeout: Duration('30s'),
  keepAliveTimeout: Duration('30s'),
});

/** `defaults:`, what every upstream inherits for the pool, protection and rule keys it leaves out. */
export const DefaultsSchema = Section({ pool: PoolSchema, protection: ProtectionSchema, rule: RuleDefaultsSchema });

/** `upstreams[].quotaSaver`. */
export const QuotaSaverSchema = Section({
  enabled: Bool(true),
  threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1, errorMessage: 'must be a share of the limit above 0 and at most 1, such as 0.9', default: 0.9 }),
});

/** One `upstreams[]` entry. */
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
    // Keys left out: those of defaults.pool.
    pool: Opt(Type.Partial(PoolSchema)),
    requestHeaders: Section({
      add: Type.Record(Type.String(), Type.String({ pattern: '^[^\\r\\n\\x00]*$', errorMessage: 'must be a header value without CR, LF or NUL' }), {
        errorMessage: 'must be a mapping of header names to values',
        default: {},
      }),
      remove: HeaderNames([]),
    }),
    clientNoCache: Enum(['refresh', 'ignore'] as const, 'refresh'),
    // Accept-Encoding is not keyed: the proxy sends its own and encodes for each client.
    vary: HeaderNames(['accept']),
    // The media types the upstream serves, its default first: `Accept` is negotiated against them.
    // Absent: the preset's, else none; empty: `Accept` is keyed and forwarded as sent.
    mediaTypes: Opt(MediaTypes()),
    protection: Opt(OwnProtectionSchema),
    // Absent (or enabled: false): callers are not rate limited.
    rateLimit: Opt(RateLimitSchema),
    rules: Type.Array(RuleSchema, { errorMessage: 'must be a list of rules', default: [] }),
    // Settings of preset (or own) rules by rule name, merged over the rule: { salesforce.query: { ttl: 1m } }.
    overrides: Type.Record(Type.String(), Type.Partial(Type.Omit(RuleSchema, ['name']), strict), {
      errorMessage: 'must be a mapping of rule names to rule settings, such as { salesforce.query: { ttl: 1m } }',
      default: {},
    }),
    // Written into OAuth token and userinfo responses as instance_url; absent: derived from the request's Host and the prefix.
    publicUrl: Opt(Type.String({ errorMessage: 'must be an absolute http(s) URL such as "https://sidecache.internal/salesforce"' })),
    // Above `threshold` of the reported API quota (or when the upstream says it is near its
    // limit) reads are answered from stale entries and refreshes stop.
    quotaSaver: QuotaSaverSchema,
  },
  strict,
);
