import type { FastifyInstance } from 'fastify';
import { SidecacheError } from '../errors.js';
import type { InvalidationTarget, Invalidator } from '../invalidation/invalidator.js';
import { adminErrorSchema } from './errors.js';

export interface InvalidationRoutesOptions {
  readonly invalidator: Invalidator;
  /** Configured upstream names: anything else is refused. */
  readonly upstreams: readonly string[];
}

interface InvalidateBody {
  upstream?: string;
  key?: string;
  prefix?: string;
  tags?: string[];
  all?: true;
}

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    upstream: { type: 'string', minLength: 1, maxLength: 64, description: 'an upstream name from the config' },
    key: { type: 'string', minLength: 1, maxLength: 512, description: 'a cache key as shown by x-cache listings' },
    prefix: { type: 'string', pattern: '^/', maxLength: 2048, description: 'a path starting with "/", below the upstream prefix' },
    tags: {
      type: 'array',
      maxItems: 1000,
      items: { type: 'string', minLength: 1, maxLength: 256 },
      description: 'a list of up to 1000 non-empty tags',
    },
    all: { type: 'boolean', const: true, description: 'true (everything)' },
  },
} as const;

const responseSchema = {
  type: 'object',
  properties: {
    invalidated: {
      type: 'object',
      properties: { epochs: { type: 'array', items: { type: 'string' } }, keysDeleted: { type: 'integer' }, propagated: { type: 'boolean' } },
    },
    tookMs: { type: 'number' },
  },
} as const;

/**
 * `POST /admin/invalidate` `{upstream?, key?, prefix?, tags?, all?}`: one key, a path prefix
 * within an upstream, tags, a whole upstream, or everything — applied here at once, then
 * persisted and broadcast to the other instances (see Invalidator).
 */
export async function invalidationRoutes(app: FastifyInstance, options: InvalidationRoutesOptions): Promise<void> {
  app.post<{ Body: InvalidateBody }>(
    '/invalidate',
    {
      schema: {
        summary: 'Invalidate by key, path prefix, tags, upstream or everything',
        tags: ['cache'],
        body: bodySchema,
        response: { 200: responseSchema, 400: adminErrorSchema },
      },
    },
    async (request) => {
      const target = invalidationTarget(request.body ?? {}, options.upstreams);
      const started = performance.now();
      const result = await options.invalidator.invalidate(target, 'admin');
      return {
        invalidated: { epochs: result.epochs, keysDeleted: result.keysDeleted, propagated: result.propagated },
        tookMs: Math.round((performance.now() - started) * 100) / 100,
      };
    },
  );
}

/** The invalidation an admin body asks for; refuses bodies that name nothing or an unknown upstream. */
export function invalidationTarget(body: InvalidateBody, upstreams: readonly string[]): InvalidationTarget {
  const { upstream, key, prefix, tags, all } = body;
  if (upstream !== undefined && !upstreams.includes(upstream)) {
    throw new SidecacheError('invalid_request', `upstream: unknown upstream "${upstream}" (configured: ${upstreams.join(', ')})`);
  }
  if (prefix !== undefined && upstream === undefined) {
    throw new SidecacheError('invalid_request', 'prefix: needs "upstream" (a prefix is a path within one upstream)');
  }
  const named = upstream !== undefined || key !== undefined || (tags !== undefined && tags.length > 0) || all === true;
  if (!named) throw new SidecacheError('invalid_request', 'body: name at least one of key, prefix (with upstream), tags, upstream, all');
  return {
    ...(key === undefined ? {} : { keys: [key] }),
    ...(tags === undefined ? {} : { tags }),
    ...(prefix === undefined ? {} : { prefix: { upstream: upstream!, path: prefix } }),
    ...(upstream !== undefined && prefix === undefined ? { upstream } : {}),
    ...(all === true ? { all: true } : {}),
  };
}
