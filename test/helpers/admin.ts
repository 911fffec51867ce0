import type { FastifyInstance, InjectOptions } from 'fastify';

/** The admin token test apps are built with. */
export const TEST_ADMIN_TOKEN = 'test-admin-token';

/** `app.inject` with the test admin token, for routes under /admin/*. */
export function adminInject(app: FastifyInstance, options: string | InjectOptions) {
  const request: InjectOptions = typeof options === 'string' ? { url: options } : options;
  return app.inject({ ...request, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...request.headers } });
}
