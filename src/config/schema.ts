/**
 * The schema of the raw YAML file, after `${VAR}` interpolation and before normalisation. Every
 * object refuses unknown keys. Each default is written once, as the `default` of its node: the
 * loader fills the keys the file leaves out (`withDefaults`) before it validates, so the types
 * below, derived with `Static`, are the filled-in values the normalisers read. A key set to null
 * (or left empty) takes its default.
 */
import { Type, type Static } from '@sinclair/typebox';
import { defaultsOf } from './defaults.js';
import { AdminSchema, ServerSchema } from './schema/server.js';
import { CacheSchema } from './schema/cache.js';
import { HeaderNames, MediaTypes, Opt, strict } from './schema/kit.js';
import { DefaultsSchema, UpstreamSchema } from './schema/upstream.js';
import { RuleSchema } from './schema/rule.js';
import { AuditSchema, DatabaseSchema, SessionsSchema } from './schema/services.js';
import { HooksSchema } from './schema/hooks.js';

/** Query parameters whose values are redacted in logs unless `redactQueryParams` says otherwise. */
export const REDACT_QUERY_PARAMS = [
  'access_token', 'refresh_token', 'token', 'id_token', 'client_secret', 'password', 'api_key',
  'apikey', 'key', 'sig', 'signature', 'code', 'session', 'sessionid', 'sid',
] as const;

export const ConfigSchema = Type.Object(
  {
    server: ServerSchema,
    cache: CacheSchema,
    // Given: replaces the default list.
    redactQueryParams: Type.Array(Type.String({ minLength: 1, errorMessage: 'must be a query parameter name' }), {
      errorMessage: 'must be a list of query parameter names',
      default: REDACT_QUERY_PARAMS,
    }),
    database: DatabaseSchema,
    sessions: SessionsSchema,
    audit: AuditSchema,
    admin: AdminSchema,
    hooks: HooksSchema,
    defaults: DefaultsSchema,
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
    vary: HeaderNames([]),
    mediaTypes: Opt(MediaTypes()),
    rules: Type.Array(RuleSchema, { errorMessage: 'must be a list of rules' }),
  },
  strict,
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawUpstream = Static<typeof UpstreamSchema>;
export type RawRule = Static<typeof RuleSchema>;
export type RawDefaults = Static<typeof DefaultsSchema>;
export type RawPreset = Static<typeof PresetSchema>;

/** What `defaults:` holds when the file leaves it out: the built-in pool, protection and rule settings. */
export const BUILT_IN_DEFAULTS: RawDefaults = defaultsOf(DefaultsSchema);
