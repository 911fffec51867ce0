import { Type, type Static, type TProperties } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { SidecacheError } from '../errors.js';
import { CacheInspector, type InspectedCache } from './cache-inspector.js';
import { adminErrorSchema } from './errors.js';

/**
 * Cache inspection routes, registered under the admin prefix (`/admin`):
 *
 *   GET /cache/entries?upstream=&prefix=&limit=&cursor=   metadata listing, keyset-paginated
 *   GET /cache/entry?key=&body=                           one entry across the tiers
 *
 * Neither ever reads a body except `/cache/entry?body=1`.
 */
export interface CacheRoutesOptions {
  readonly cache: InspectedCache;
  readonly now?: () => number;
}

const MAX_LIST_LIMIT = 500;
const DEFAULT_LIST_LIMIT = 50;

const Query = <T extends TProperties>(properties: T) => Type.Partial(Type.Object(properties), { additionalProperties: false });
const Nullable = (type: 'string') => Type.Unsafe<string | null>({ type: [type, 'null'] });

const UpstreamName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'expected an upstream name' });

const ListQuery = Query({
  upstream: UpstreamName,
  prefix: Type.String({ pattern: '^/', maxLength: 2048, description: 'expected a path starting with "/" (with upstream), matched against entry paths' }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT, description: `expected an integer from 1 to ${MAX_LIST_LIMIT}` }),
  cursor: Type.String({ pattern: '^[a-z]+\\.[A-Za-z0-9_-]{1,16384}$', description: 'expected the nextCursor of a previous page' }),
});

const EntryQuery = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 512, description: 'expected a cache key (as listed by /admin/cache/entries)' }),
    body: Type.Optional(Type.Unsafe<'0' | '1' | 'true' | 'false'>({ type: 'string', enum: ['0', '1', 'true', 'false'], description: 'expected 1 or 0' })),
  },
  { additionalProperties: false },
);

const Presence = Type.Unsafe<string>({ type: 'string', enum: ['present', 'absent', 'unavailable'] });
const TierPresence = Type.Object(
  { memory: Type.Optional(Presence), redis: Type.Optional(Presence), postgres: Type.Optional(Presence) },
  { description: 'each configured tier: present, absent, or unavailable (could not be asked)' },
);
const TierNameSchema = Type.Unsafe<string>({ type: 'string', enum: ['memory', 'redis', 'postgres'] });

const entryViewProperties = {
  key: Type.String(),
  upstream: Type.String(),
  path: Type.String({ description: 'upstream-relative path and query, secret values redacted' }),
  status: Type.Integer(),
  scope: Type.String(),
  tags: Type.Array(Type.String()),
  storedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  staleUntil: Type.String({ format: 'date-time' }),
  ageSeconds: Type.Integer(),
  ttlSeconds: Type.Integer({ description: 'seconds until expiresAt (0 once stale)' }),
  staleSeconds: Type.Integer({ description: 'seconds until staleUntil' }),
  fresh: Type.Boolean(),
  invalidated: Type.Boolean({ description: 'invalidated since it was stored: never served again, dropped at expiry' }),
  bodyBytes: Type.Integer(),
  sizeBytes: Type.Integer({ description: 'footprint as the byte-bounded tiers count it' }),
  tiers: TierPresence,
};
const EntryView = Type.Object(entryViewProperties);
const ListResponse = Type.Object({ source: TierNameSchema, items: Type.Array(EntryView), nextCursor: Nullable('string') });
const EntryResponse = Type.Object({
  ...entryViewProperties,
  source: TierNameSchema,
  headerNames: Type.Array(Type.String()),
  body: Type.Optional(
    Type.Object({ encoding: Type.Unsafe<string>({ type: 'string', enum: ['utf8', 'base64'] }), data: Type.String() }, {
      description: 'with body=1: as text when it is UTF-8 and not content-encoded, else base64',
    }),
  ),
});
const errors = { '4xx': adminErrorSchema, '5xx': adminErrorSchema };

/** The cache inspection routes as an encapsulated Fastify plugin; register with `{ prefix: '/admin', cache }`. */
export const cacheRoutes: FastifyPluginAsync<CacheRoutesOptions> = async (app, options) => {
  const inspector = new CacheInspector(options.cache, options.now);

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/cache/entries',
    {
      schema: {
        summary: 'List cache entries (metadata only)',
        description:
          'Keyset-paginated; follow nextCursor until null. Source: Postgres when enabled, else Redis, else memory. A page may be short (even empty) with a nextCursor when the Redis tier bounds its work.',
        tags: ['cache'],
        querystring: ListQuery,
        response: { 200: ListResponse, ...errors },
      },
    },
    async (request) => {
      const { upstream, prefix, cursor } = request.query;
      if (prefix !== undefined && upstream === undefined) {
        throw new SidecacheError('invalid_request', 'prefix: needs "upstream" (a prefix is a path within one upstream)');
      }
      return inspector.list({
        limit: request.query.limit ?? DEFAULT_LIST_LIMIT,
        ...(upstream === undefined ? {} : { upstream }),
        ...(prefix === undefined ? {} : { prefix }),
        ...(cursor === undefined ? {} : { cursor }),
      });
    },
  );

  app.get<{ Querystring: Static<typeof EntryQuery> }>(
    '/cache/entry',
    {
      schema: {
        summary: 'Inspect one cache entry in every tier',
        tags: ['cache'],
        querystring: EntryQuery,
        response: { 200: EntryResponse, ...errors },
      },
    },
    async (request) => {
      const body = request.query.body === '1' || request.query.body === 'true';
      const detail = await inspector.describe(request.query.key, { body });
      if (detail === undefined) throw new SidecacheError('not_found', 'no tier holds this key (or its entry has expired)');
      return detail;
    },
  );
};
