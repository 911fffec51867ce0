/**
 * The building blocks of the config schema. A key made with a builder that takes a default is
 * required in the schema and filled from its `default` when the file leaves it out (see
 * `withDefaults`); an optional key (`Opt`) stays absent, and its absence means something
 * (inherit from `defaults:`, off, derived from another key). Each node carries `errorMessage`:
 * the words a problem line uses when the node is invalid.
 */
import { Type, type TLiteral, type TProperties } from '@sinclair/typebox';
import { DURATION_EXPECTED, DURATION_PATTERN, SIZE_EXPECTED, SIZE_PATTERN } from '../units.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const SCOPES = ['authorization', 'session', 'shared'] as const;

/** An HTTP token (RFC 9110 §5.6.2): header and cookie names. */
export const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const caseless = (word: string) => [...word].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join('');

export const Opt = Type.Optional;
export const strict = { additionalProperties: false } as const;

/** A sub-section: unknown keys refused; left out, it is an empty mapping whose keys take their defaults. */
export const Section = <T extends TProperties>(properties: T) => Type.Object(properties, { ...strict, default: {} });

const withDefault = (fallback: unknown) => (fallback === undefined ? {} : { default: fallback });

export const Duration = (fallback?: string | number) =>
  Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], { errorMessage: DURATION_EXPECTED, ...withDefault(fallback) });
export const Size = (fallback?: string) =>
  Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: SIZE_PATTERN })], { errorMessage: SIZE_EXPECTED, ...withDefault(fallback) });
export const Bool = (fallback?: boolean) => Type.Boolean({ errorMessage: 'must be true or false', ...withDefault(fallback) });
export const PositiveInt = (fallback?: number, max = 10_000_000) =>
  Type.Integer({ minimum: 1, maximum: max, errorMessage: `must be an integer from 1 to ${max}`, ...withDefault(fallback) });
export const Port = (fallback: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, errorMessage: 'must be an integer from 0 to 65535', default: fallback });
export const Host = (fallback: string) => Type.String({ minLength: 1, errorMessage: 'must be a host name or IP address', default: fallback });
export const DirPath = (fallback?: string) => Type.String({ minLength: 1, errorMessage: 'must be a directory path', ...withDefault(fallback) });
export const HeaderName = (fallback?: string) =>
  Type.String({ pattern: TOKEN, errorMessage: 'must be an HTTP header name such as "x-request-id"', ...withDefault(fallback) });
export const HeaderNames = (fallback?: readonly string[]) =>
  Type.Array(HeaderName(), { errorMessage: 'must be a list of HTTP header names', ...withDefault(fallback) });
export const MediaTypes = (fallback?: readonly string[]) =>
  Type.Array(
    Type.String({ pattern: '^[!#$&^_.+0-9A-Za-z-]+/[!#$&^_.+0-9A-Za-z-]+$', errorMessage: 'must be a media type such as "application/json" (no wildcards or parameters)' }),
    { errorMessage: 'must be a list of media types such as [application/json, application/xml]', ...withDefault(fallback) },
  );
export const Templates = () =>
  Type.Array(Type.String({ minLength: 1, errorMessage: 'must be a non-empty template such as "sf:{type}:{id}"' }), {
    errorMessage: 'must be a list of templates such as "sf:{type}:{id}"',
    default: [],
  });
export const Method = Type.String({ pattern: `^(?:${HTTP_METHODS.map(caseless).join('|')})$` });
export const Enum = <T extends string>(values: readonly T[], fallback: T) =>
  Type.Union(values.map((v) => Type.Literal(v)) as TLiteral<T>[], { errorMessage: `must be one of ${values.join(', ')}`, default: fallback });
/** A string whose absence (or emptiness) means "none": the normaliser reads it as null. */
export const Unset = (errorMessage: string, pattern?: string) => Opt(Type.String({ errorMessage, ...(pattern === undefined ? {} : { pattern }) }));
