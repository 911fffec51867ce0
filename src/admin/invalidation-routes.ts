import type { FastifyInstance } from 'fastify';
import type { Invalidator } from '../invalidation/invalidator.js';
import { bodySchema, invalidationTarget, type InvalidatableUpstream, type InvalidateBody } from '../invalidation/request.js';
import { adminErrorSchema } from './errors.js';

export interface InvalidationRoutesOptions {
  readonly invalidator: Invalidator;
  /** Configured upstreams (`Config.upstreams`): any other name is refused. */
  readonly upstreams: readonly InvalidatableUpstream[];
}

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
        response: { 200: responseSchema, 400: adminErrorSchema, 422: adminErrorSchema },
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
