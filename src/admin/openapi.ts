import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';

/** The security scheme every token-protected admin route names in the OpenAPI document. */
const ADMIN_SECURITY_SCHEME = 'adminToken';

/**
 * @fastify/swagger in dynamic mode: the document is generated from the routes' own Fastify
 * schemas, so it cannot drift from what the routes validate. Register on the root instance
 * before any route, so that every route (token-protected or not) is seen.
 */
export const registerOpenApi = fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sidecache admin API',
        version: '1',
        description:
          'Admin listener of sidecache. Every /admin/* route requires Authorization: Bearer <ADMIN_TOKEN>. Errors are {error, message, requestId}; a 400 message names each offending parameter.',
      },
      components: {
        securitySchemes: { [ADMIN_SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN configured on the instance' } },
      },
    },
  });
}, { name: 'sidecache-admin-openapi', fastify: '5.x' });

/** `onRoute` hook for the token scope: marks each of its routes as requiring the bearer token. */
export function markTokenProtected(route: RouteOptions): void {
  route.schema = { ...route.schema, security: [{ [ADMIN_SECURITY_SCHEME]: [] }] } as RouteOptions['schema'];
}

/** `GET /openapi.json` (under the admin prefix, so behind the token). */
export async function openApiRoute(app: FastifyInstance): Promise<void> {
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This document (OpenAPI 3.1)',
        tags: ['meta'],
        querystring: { type: 'object', properties: {}, additionalProperties: false },
      },
    },
    async () => app.swagger(),
  );
}
