import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, HeaderNames, HTTP_METHODS, Method, Opt, SCOPES, Section, Size, strict, Templates } from './kit.js';

const inheritable = {
  ttl: Duration('5m'),
  scope: Enum(SCOPES, 'authorization'),
  statuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599, errorMessage: 'must be an HTTP status from 100 to 599' }), {
    errorMessage: 'must be a list of HTTP statuses such as [200, 203]',
    default: [200, 203],
  }),
  maxBodyBytes: Size('1MB'),
  staleWhileRevalidate: Duration('0s'),
  // Data read in the hour before a one-hour outage is still served during it (5 min ttl + 2 h).
  staleIfError: Duration('2h'),
  // How long an entry is kept past freshness and its stale windows: a refetch is then conditional
  // on its validators, and (standards mode) a client's max-stale may still accept it.
  keepExpired: Duration('1h'),
};

/** `defaults.rule`: the built-in values of the rule keys a rule may leave to it. */
export const RuleDefaultsSchema = Section(inheritable);

/** One cache rule; the keys of `defaults.rule` it leaves out are inherited from there. */
export const RuleSchema = Type.Object(
  {
    // Default: `<upstream>.rule<index in the effective rule list>`.
    name: Opt(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', errorMessage: 'must be 1-64 letters, digits, ".", "_" or "-"' })),
    methods: Type.Union([Method, Type.Array(Method, { minItems: 1 })], {
      errorMessage: `must be an HTTP method or a non-empty list of them (${HTTP_METHODS.join(', ')})`,
      default: ['GET'],
    }),
    path: Type.String({ pattern: '^/', errorMessage: 'must be a path pattern starting with "/"' }),
    query: Type.Record(
      Type.String(),
      Type.Union([Type.String(), Type.Boolean()], { errorMessage: 'must be a string (exact value), true (present) or false (absent)' }),
      { errorMessage: 'must be a mapping of query parameter names to conditions', default: {} },
    ),
    cache: Bool(true),
    ...Type.Partial(Type.Object(inheritable)).properties,
    vary: HeaderNames([]),
    tags: Templates(),
    // Absent: 404 is not cached.
    negativeTtl: Opt(Duration()),
    bodyKey: Bool(false),
    respectCacheControl: Bool(false),
    // `origin`: the upstream's caching headers alone decide (RFC 9111 standards mode); absent: `origin`
    // when respectCacheControl is set and the rule has no ttl of its own, else `rule`.
    freshness: Opt(Type.Union([Type.Literal('rule'), Type.Literal('origin')], { errorMessage: 'must be "rule" (the rule\'s ttl) or "origin" (the upstream\'s headers, RFC 9111)' })),
    // Refresh hot entries shortly before their ttl ends (within the upstream's refresh budget).
    refreshAhead: Bool(false),
    invalidates: Templates(),
    // Audit naming, templated from path params; default action: the rule name.
    action: Opt(Type.String({ minLength: 1, maxLength: 128, errorMessage: 'must be a template such as "salesforce.sobject.read"' })),
    resourceType: Opt(Type.String({ minLength: 1, maxLength: 128, errorMessage: 'must be a template such as "{type}"' })),
    resourceId: Opt(Type.String({ minLength: 1, maxLength: 128, errorMessage: 'must be a template such as "{id}"' })),
  },
  strict,
);
