import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyPluginAsync, InjectOptions } from 'fastify';
import { SidecacheError } from '../errors.js';
import { headerValueProblem } from '../proxy/sendable.js';
import { adminErrorSchema } from './errors.js';

/**
 * `POST /admin/warm`: fetches each request through the proxy's own read path (`inject` into the
 * proxy app), so keys, scope, rules, single flight and audit apply exactly as for a client.
 */
export interface WarmRoutesOptions {
  /** The proxy app (`Sidecache.app`): requests are injected into it, never sent over the network. */
  readonly proxy: Pick<FastifyInstance, 'inject'>;
  /** Configured upstreams: their names, and the prefixes they are mounted under on the proxy. */
  readonly upstreams: ReadonlyArray<{ readonly name: string; readonly prefix: string }>;
  /** The proxy's request id header; warm requests carry `<admin request id>.w<n>` in it. */
  readonly requestIdHeader?: string;
  /** Whether an upstream is in quota-saver mode: its requests are not warmed (nothing is sent). */
  readonly saving?: (upstream: string) => boolean;
}

const MAX_WARM_REQUESTS = 100;
const MAX_WARM_CONCURRENCY = 16;
const DEFAULT_WARM_CONCURRENCY = 4;
/** Headers the proxy (or inject) sets itself; a warm request may not. */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect', 'te', 'keep-alive', 'trailer']);
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";

const WarmRequest = Type.Object(
  {
    upstream: Type.String({ minLength: 1, maxLength: 64, description: 'expected an upstream name from the config' }),
    method: Type.Optional(
      Type.Unsafe<'GET' | 'HEAD'>({
        type: 'string',
        enum: ['GET', 'HEAD'],
        default: 'GET',
        description: 'expected GET or HEAD: only reads can be warmed (other methods are never cached, and would change the upstream)',
      }),
    ),
    path: Type.String({
      pattern: '^/[!-"$-~]*$',
      maxLength: 8192,
      description: 'expected a path starting with "/", relative to the upstream prefix, in visible ASCII (percent-encode the rest; a "?query" may follow)',
    }),
    query: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String({ maxLength: 8192 }), Type.Array(Type.String({ maxLength: 8192 }), { maxItems: 100 })]), {
        maxProperties: 100,
        description: 'expected an object of query parameters: name -> value or list of values',
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ maxLength: 8192 }), {
        additionalProperties: false,
        maxProperties: 64,
        description: 'expected an object of request headers: name -> value (e.g. authorization, for authorization-scoped rules)',
      }),
    ),
  },
  { additionalProperties: false },
);

const WarmBody = Type.Object(
  {
    requests: Type.Array(WarmRequest, {
      minItems: 1,
      maxItems: MAX_WARM_REQUESTS,
      description: `expected 1 to ${MAX_WARM_REQUESTS} requests {upstream, method?, path, query?, headers?}`,
    }),
    concurrency: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_WARM_CONCURRENCY, default: DEFAULT_WARM_CONCURRENCY, description: `expected an integer from 1 to ${MAX_WARM_CONCURRENCY}` }),
    ),
  },
  { additionalProperties: false },
);
type WarmBody = Static<typeof WarmBody>;

const Nullable = (type: 'string' | 'integer', description?: string) => Type.Unsafe({ type: [type, 'null'], ...(description === undefined ? {} : { description }) });
const WarmResult = Type.Object({
  upstream: Type.String(),
  method: Type.String(),
  path: Type.String(),
  status: Nullable('integer'),
  cache: Nullable('string', 'the x-cache header: MISS (fetched and stored), HIT (already cached), STALE, BYPASS (not cacheable)'),
  tier: Nullable('string'),
  requestId: Nullable('string'),
  error: Type.Optional(Type.String()),
});
const WarmResponse = Type.Object({
  results: Type.Array(WarmResult),
  summary: Type.Object({ total: Type.Integer(), ok: Type.Integer(), failed: Type.Integer() }),
  tookMs: Type.Number(),
});
type WarmResult = Static<typeof WarmResult>;

/** The warm route as an encapsulated Fastify plugin; register with `{ prefix: '/admin', proxy, upstreams }`. */
export const warmRoutes: FastifyPluginAsync<WarmRoutesOptions> = async (app, options) => {
  const prefixes = new Map(options.upstreams.map((u) => [u.name, u.prefix]));
  const idHeader = options.requestIdHeader ?? 'x-request-id';

  app.post<{ Body: WarmBody }>(
    '/warm',
    {
      schema: {
        summary: 'Fetch requests through the proxy read path to fill the cache',
        tags: ['cache'],
        body: WarmBody,
        response: { 200: WarmResponse, ...{ '4xx': adminErrorSchema, '5xx': adminErrorSchema } },
      },
    },
    async (request) => {
      const { requests } = request.body;
      const planned = requests.map((warm, i) => {
        const prefix = prefixes.get(warm.upstream);
        if (prefix === undefined) {
          throw new SidecacheError('invalid_request', `requests[${i}].upstream: unknown upstream "${warm.upstream}" (configured: ${[...prefixes.keys()].join(', ')})`);
        }
        // inject() parses the URL as a browser would, resolving dot segments (also %2e and "\"
        // separators) before the proxy could refuse them: the request would leave its upstream.
        if (warm.path.split('?', 1)[0]!.split(/[/\\]/).some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) {
          throw new SidecacheError('invalid_request', `requests[${i}].path: must not contain "." or ".." segments`);
        }
        // inject() would read "//host/x" as an authority, and "/\host" the same way.
        if (/^\/[/\\]/.test(warm.path)) throw new SidecacheError('invalid_request', `requests[${i}].path: must not start with "//"`);
        for (const [name, value] of Object.entries(warm.headers ?? {})) {
          if (FORBIDDEN_HEADERS.has(name.toLowerCase())) {
            throw new SidecacheError('invalid_request', `requests[${i}].headers: "${name}" cannot be set (the proxy sets it)`);
          }
          const problem = headerValueProblem(value);
          if (problem !== null) throw new SidecacheError('invalid_request', `requests[${i}].headers.${name}: ${problem}`);
        }
        return { warm, inject: injection(warm, prefix, i) };
      });

      const started = performance.now();
      const results = new Array<WarmResult>(planned.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < planned.length; i = next++) {
          const { warm, inject } = planned[i]!;
          if (options.saving?.(warm.upstream) === true) {
            results[i] = { upstream: warm.upstream, method: warm.method ?? 'GET', path: warm.path, status: null, cache: null, tier: null, requestId: null, error: `quota_saver: upstream "${warm.upstream}" is in quota-saver mode; not warmed` };
            continue;
          }
          const ownId = `${request.id}.w${i}`;
          const headers = { 'user-agent': 'sidecache-warm', ...(ownId.length <= 128 ? { [idHeader]: ownId } : {}), ...inject.headers };
          results[i] = await runOne(options.proxy, { ...inject, headers }, warm, idHeader);
        }
      };
      const concurrency = Math.min(request.body.concurrency ?? DEFAULT_WARM_CONCURRENCY, planned.length);
      await Promise.all(Array.from({ length: concurrency }, worker));
      const failed = results.filter((r) => r.error !== undefined).length;
      return {
        results,
        summary: { total: results.length, ok: results.length - failed, failed },
        tookMs: Math.round((performance.now() - started) * 100) / 100,
      };
    },
  );
};

type Warm = WarmBody['requests'][number];

/** The request as the proxy receives it: the upstream's prefix, the path, then the query. */
function injection(warm: Warm, prefix: string, index: number): InjectOptions & { headers: Record<string, string> } {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(warm.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) search.append(name, v);
  }
  const query = search.toString();
  const url = (prefix === '/' ? '' : prefix) + warm.path + (query === '' ? '' : (warm.path.includes('?') ? '&' : '?') + query);
  if (url.length > 16_384) throw new SidecacheError('invalid_request', `requests[${index}].query: the URL would be longer than 16 KB`);
  return { method: warm.method ?? 'GET', url, headers: { ...warm.headers } };
}

async function runOne(proxy: WarmRoutesOptions['proxy'], inject: InjectOptions, warm: Warm, idHeader: string): Promise<WarmResult> {
  const base = { upstream: warm.upstream, method: warm.method ?? 'GET', path: warm.path };
  try {
    const response = await proxy.inject(inject);
    const header = (name: string): string | null => {
      const value = response.headers[name];
      return value === undefined ? null : String(value);
    };
    const result: WarmResult = { ...base, status: response.statusCode, cache: header('x-cache'), tier: header('x-cache-tier'), requestId: header(idHeader) };
    if (response.statusCode >= 400) result.error = failure(response.statusCode, response.headers['content-type'], response.body);
    return result;
  } catch (err) {
    return { ...base, status: null, cache: null, tier: null, requestId: null, error: `request failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** `upstream_timeout: …` for sidecache's own errors; `upstream answered 404` for the upstream's. */
function failure(status: number, contentType: unknown, body: string): string {
  if (typeof contentType === 'string' && contentType.startsWith('application/json')) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      if (typeof parsed['error'] === 'string' && typeof parsed['message'] === 'string' && typeof parsed['requestId'] === 'string') {
        return `${parsed['error']}: ${parsed['message']}`;
      }
    } catch {
      // not ours
    }
  }
  return `upstream answered ${status}`;
}
