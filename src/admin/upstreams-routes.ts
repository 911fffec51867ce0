import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { parseWindow } from '../audit/query-input.js';
import { actionTraffic, type ActionTraffic } from '../audit/rule-traffic.js';
import type { UpstreamConfig } from '../config/types.js';
import type { SqlDatabase } from '../db/sql.js';
import { adminErrorSchema } from './errors.js';
import { ruleActionMatcher } from './rule-actions.js';

/**
 * `GET /admin/upstreams?window=1h`: each configured upstream with its rules, and each rule's
 * traffic and hit ratio over the window from the audit trail (one GROUP BY over the window;
 * nothing is counted on the request path for it). Without an audit database the rules are
 * listed with `traffic: null`. Targets, header values and secrets are never included.
 */
export interface UpstreamsRoutesOptions {
  readonly upstreams: readonly UpstreamConfig[];
  readonly db: SqlDatabase | null;
  readonly now?: () => number;
}

const WindowQuery = Type.Partial(
  Type.Object({
    window: Type.String({ pattern: '^[0-9]{1,6}[mhdw]$', default: '1h', description: 'expected a duration such as 15m, 1h, 24h or 7d, at most 400d' }),
  }),
  { additionalProperties: false },
);

const Traffic = Type.Object({
  requests: Type.Integer(),
  errors: Type.Integer(),
  hits: Type.Integer(),
  cacheable: Type.Integer(),
  hitRatio: Type.Unsafe<number | null>({ type: ['number', 'null'] }),
});
const NullableTraffic = Type.Unsafe<Static<typeof Traffic> | null>({ anyOf: [Traffic, { type: 'null' }] });
const Rule = Type.Object({
  name: Type.String(),
  methods: Type.Array(Type.String()),
  path: Type.String(),
  cache: Type.Boolean(),
  scope: Type.String(),
  ttlSeconds: Type.Number(),
  tags: Type.Array(Type.String()),
  traffic: NullableTraffic,
});
const Response = Type.Object({
  window: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  trafficSource: Type.Unsafe<string>({ type: 'string', enum: ['audit', 'unavailable'] }),
  trafficError: Type.Optional(Type.String()),
  upstreams: Type.Array(
    Type.Object({
      name: Type.String(),
      prefix: Type.String(),
      enabled: Type.Boolean(),
      rules: Type.Array(Rule),
      unmatched: NullableTraffic,
    }),
  ),
});

type TrafficBody = Static<typeof Traffic>;

export const upstreamsRoutes: FastifyPluginAsync<UpstreamsRoutesOptions> = async (app, options) => {
  const now = options.now ?? Date.now;
  app.get<{ Querystring: Static<typeof WindowQuery> }>(
    '/upstreams',
    {
      schema: {
        summary: 'Upstreams and their rules, with traffic and hit ratio per rule from the audit trail',
        tags: ['stats'],
        querystring: WindowQuery,
        response: { 200: Response, '4xx': adminErrorSchema, '5xx': adminErrorSchema },
      },
    },
    async (request) => {
      const window = request.query.window ?? '1h';
      const to = new Date(now());
      const from = new Date(to.getTime() - parseWindow(window));
      let rows: ActionTraffic[] | null = null;
      let trafficError: string | undefined;
      if (options.db !== null) {
        try {
          rows = await actionTraffic(options.db, { from, to });
        } catch (err) {
          request.log.warn({ reqId: request.id, err }, 'upstream traffic query failed');
          trafficError = 'the audit trail could not be read';
        }
      } else {
        trafficError = 'no audit database is configured';
      }
      return {
        window,
        from: from.toISOString(),
        to: to.toISOString(),
        trafficSource: rows === null ? 'unavailable' : 'audit',
        ...(trafficError === undefined ? {} : { trafficError }),
        upstreams: options.upstreams.map((upstream) => upstreamView(upstream, rows)),
      };
    },
  );
};

function upstreamView(upstream: UpstreamConfig, rows: readonly ActionTraffic[] | null) {
  const perRule = new Map<string, TrafficBody>();
  let unmatched: TrafficBody | null = null;
  if (rows !== null) {
    const ruleOf = ruleActionMatcher(upstream.rules);
    for (const row of rows) {
      if (row.upstream !== upstream.name) continue;
      const name = ruleOf(row.action);
      if (name === undefined) unmatched = add(unmatched, row);
      else perRule.set(name, add(perRule.get(name) ?? null, row));
    }
  }
  return {
    name: upstream.name,
    prefix: upstream.prefix,
    enabled: upstream.target !== null,
    rules: upstream.rules.map((rule) => ({
      name: rule.name,
      methods: [...rule.methods],
      path: rule.path,
      cache: rule.cache,
      scope: rule.scope,
      ttlSeconds: rule.ttlMs / 1000,
      tags: [...rule.tags],
      traffic: rows === null ? null : (perRule.get(rule.name) ?? add(null, null)),
    })),
    unmatched: rows === null ? null : (unmatched ?? add(null, null)),
  };
}

/** Sums one row into a running total (null: zero). */
function add(total: TrafficBody | null, row: ActionTraffic | null): TrafficBody {
  const requests = (total?.requests ?? 0) + (row?.requests ?? 0);
  const errors = (total?.errors ?? 0) + (row?.errors ?? 0);
  const hits = (total?.hits ?? 0) + (row?.hits ?? 0);
  const cacheable = (total?.cacheable ?? 0) + (row?.cacheable ?? 0);
  return { requests, errors, hits, cacheable, hitRatio: cacheable === 0 ? null : Math.round((hits / cacheable) * 1e4) / 1e4 };
}
