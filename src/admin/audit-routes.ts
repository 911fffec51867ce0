import { Type, type Static, type TProperties } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { auditReport, AuditQueryError, CACHE_OUTCOMES, listAudit, MAX_LIMIT, parseWindow, sessionActivity, type CacheFilter } from '../audit/queries.js';
import type { SqlDatabase } from '../db/sql.js';
import { AdminError, adminErrorSchema } from './errors.js';

/**
 * Read-only audit routes, registered under the admin prefix (`/admin`):
 *
 *   GET /audit                 filtered listing, newest first, keyset-paginated
 *   GET /audit/report?window=  activity report over the last `window`
 *   GET /sessions/:id          a session and its recent activity
 *
 * Query strings refuse unknown parameters; every property's `description` is the expectation a
 * 400 quotes (see `adminErrorHandler`).
 */
export interface AuditRoutesOptions {
  /** null: the routes answer 503 `audit_unavailable`. */
  readonly db: SqlDatabase | null;
  /** Clock for the report window (tests). */
  readonly now?: () => number;
}

const UUID_EXPECTED = 'expected a session id (UUID)';
const TIME_EXPECTED = 'expected an ISO-8601 time (2025-03-10T12:00:00Z or 2025-03-10) or epoch milliseconds';
const LIMIT_EXPECTED = `expected an integer from 1 to ${MAX_LIMIT}`;

const Text = (what: string) => Type.String({ minLength: 1, maxLength: 512, description: `expected ${what}` });
const Time = () =>
  Type.String({ anyOf: [{ format: 'date-time' }, { format: 'date' }, { pattern: '^[0-9]{1,15}$' }], description: TIME_EXPECTED });
const Limit = (fallback: number) => Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: fallback, description: LIMIT_EXPECTED });

/** A query string: every parameter optional, unknown ones refused. */
const Query = <T extends TProperties>(properties: T) => Type.Partial(Type.Object(properties), { additionalProperties: false });

const ListQuery = Query(
  {
    session: Type.String({ format: 'uuid', description: UUID_EXPECTED }),
    user: Text('a user identifier'),
    upstream: Text('an upstream name'),
    action: Text('an action name'),
    status: Type.String({ pattern: '^([1-5][0-9]{2}|[1-5][xX]{2})$', description: 'expected an HTTP status (100-599) or a class such as 5xx' }),
    cache: Type.Unsafe<CacheFilter>({
      type: 'string',
      enum: [...CACHE_OUTCOMES, 'NONE'],
      description: `expected one of ${[...CACHE_OUTCOMES, 'NONE'].join(', ')}`,
    }),
    from: Time(),
    to: Time(),
    limit: Limit(100),
    cursor: Type.String({ pattern: '^[A-Za-z0-9_-]{1,1024}$', description: 'expected the nextCursor of a previous page' }),
  },
);

const ReportQuery = Query({
  window: Type.String({ pattern: '^[0-9]{1,6}[mhdw]$', default: '7d', description: 'expected a duration such as 90m, 24h, 7d or 2w, at most 400d' }),
});
const SessionParams = Type.Object({ id: Type.String({ format: 'uuid', description: UUID_EXPECTED }) }, { additionalProperties: false });
const SessionQuery = Query({ limit: Limit(50) });

// ---- response schemas (they also drop anything a row might carry beyond them)

const Nullable = (type: 'string' | 'number' | 'integer') => Type.Unsafe({ type: [type, 'null'] });
const AuditItem = Type.Object({
  requestId: Type.String(),
  ts: Type.String({ format: 'date-time' }),
  sessionId: Nullable('string'),
  userIdentifier: Nullable('string'),
  upstream: Nullable('string'),
  method: Nullable('string'),
  path: Nullable('string'),
  query: Nullable('string'),
  action: Nullable('string'),
  resourceType: Nullable('string'),
  resourceId: Nullable('string'),
  status: Nullable('integer'),
  cacheOutcome: Nullable('string'),
  cacheTier: Nullable('string'),
  totalMs: Nullable('number'),
  upstreamMs: Nullable('number'),
  requestBytes: Nullable('integer'),
  responseBytes: Nullable('integer'),
  clientIp: Nullable('string'),
  userAgent: Nullable('string'),
  errorCode: Nullable('string'),
});
const ListResponse = Type.Object({ items: Type.Array(AuditItem), nextCursor: Nullable('string') });
const Latency = Type.Object({
  totalP50: Nullable('number'),
  totalP95: Nullable('number'),
  upstreamP50: Nullable('number'),
  upstreamP95: Nullable('number'),
});
const Counts = { requests: Type.Integer(), errors: Type.Integer() };
const ReportResponse = Type.Object({
  window: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  totalRequests: Type.Integer(),
  errorCount: Type.Integer(),
  hitRatio: Nullable('number'),
  latency: Latency,
  byDay: Type.Array(Type.Object({ day: Type.String(), ...Counts })),
  byUpstream: Type.Array(Type.Object({ upstream: Nullable('string'), ...Counts, hitRatio: Nullable('number'), latency: Latency })),
  byAction: Type.Array(Type.Object({ action: Nullable('string'), ...Counts })),
  byCacheOutcome: Type.Record(Type.String(), Type.Integer()),
  byUser: Type.Array(Type.Object({ user: Nullable('string'), ...Counts })),
  topResources: Type.Array(Type.Object({ resourceType: Type.String(), resourceId: Nullable('string'), ...Counts })),
});
const SessionResponse = Type.Object({
  session: Type.Object({
    id: Type.String(),
    tokenPrefix: Nullable('string'),
    userIdentifier: Nullable('string'),
    preferences: Type.Unknown(),
    createdAt: Nullable('string'),
    lastAccessed: Nullable('string'),
    expiresAt: Nullable('string'),
  }),
  recentActivity: Type.Array(AuditItem),
});
const errors = { '4xx': adminErrorSchema, '5xx': adminErrorSchema };

/** The audit routes as an encapsulated Fastify plugin; register it with `{ prefix: '/admin', db }`. */
export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, options) => {
  const now = options.now ?? Date.now;
  const database = (): SqlDatabase => {
    if (options.db === null) throw new AdminError('audit_unavailable');
    return options.db;
  };

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/audit',
    { schema: { summary: 'Audit trail, newest first (keyset-paginated)', tags: ['audit'], querystring: ListQuery, response: { 200: ListResponse, ...errors } } },
    async (request) => {
      const q = request.query;
      const from = parseTime(q.from, 'from');
      const to = parseTime(q.to, 'to');
      return listAudit(
        database(),
        {
          session: q.session,
          user: q.user,
          upstream: q.upstream,
          action: q.action,
          status: q.status,
          cache: q.cache,
          from,
          to,
        },
        { limit: q.limit, cursor: q.cursor },
      );
    },
  );

  app.get<{ Querystring: Static<typeof ReportQuery> }>(
    '/audit/report',
    { schema: { summary: 'Activity report over a window', tags: ['audit'], querystring: ReportQuery, response: { 200: ReportResponse, ...errors } } },
    async (request) => {
      const window = request.query.window ?? '7d';
      const windowMs = parseWindow(window);
      const db = database();
      const to = new Date(now());
      return { window, ...(await auditReport(db, { from: new Date(to.getTime() - windowMs), to })) };
    },
  );

  app.get<{ Params: Static<typeof SessionParams>; Querystring: Static<typeof SessionQuery> }>(
    '/sessions/:id',
    {
      schema: {
        summary: 'A session and its recent activity',
        tags: ['sessions'],
        params: SessionParams,
        querystring: SessionQuery,
        response: { 200: SessionResponse, ...errors },
      },
    },
    async (request) => {
      const db = database();
      const activity = await sessionActivity(db, request.params.id.toLowerCase(), request.query.limit ?? 50);
      if (activity === null) throw new AdminError('session_not_found');
      return activity;
    },
  );
};

/** An ISO-8601 time or epoch milliseconds (already shape-checked by the schema) → Date. */
function parseTime(value: string | undefined, param: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(/^[0-9]+$/.test(value) ? Number(value) : value);
  if (Number.isNaN(date.getTime())) throw new AuditQueryError(param, TIME_EXPECTED);
  return date;
}
