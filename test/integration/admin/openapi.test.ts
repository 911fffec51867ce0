import t, { type Test } from 'tap';
import type { RouteOptions } from 'fastify';
import { buildAdminApp } from '../../../src/admin/server.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}
type Document = {
  openapi: string;
  info: { title: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
};

/** The admin app with every optional route group, plus a token-free route as main.ts adds /metrics. */
async function setup(t: Test) {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]);
  const proxy = await startProxy(t, config);
  const routes: RouteOptions[] = [];
  const admin = buildAdminApp({
    token: TEST_ADMIN_TOKEN,
    db: null,
    logger: false,
    invalidation: { invalidator: proxy.invalidator, upstreams: config.upstreams },
    cache: proxy.storage,
    warm: { proxy: proxy.app, upstreams: config.upstreams },
    upstreams: config.upstreams,
    adminRoutes: (admin) => {
      admin.get('/ping', { schema: { querystring: { type: 'object', properties: {}, additionalProperties: false } } }, async () => ({ pong: true }));
    },
    extraRoutes: (app) => {
      // Root-level hooks see every route, in the token scope or not.
      app.addHook('onRoute', (route) => {
        routes.push(route);
      });
      void app.register(async (open) => {
        open.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async () => 'metric 1\n');
      });
    },
  });
  t.teardown(() => admin.close());
  await admin.ready();
  return { admin, routes };
}

t.test('GET /admin/openapi.json describes every admin route, generated from the routes themselves', async (t) => {
  const { admin, routes } = await setup(t);
  const response = await adminInject(admin, '/admin/openapi.json');
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^application\/json/);
  const doc = JSON.parse(response.body) as Document;
  t.equal(doc.openapi, '3.1.0');
  t.equal(doc.info.title, 'sidecache admin API');
  t.same(doc.components.securitySchemes['adminToken'], { type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN configured on the instance' });

  const adminRoutes = routes.filter((r) => r.url.startsWith('/admin/'));
  const expected = [
    'GET /admin/audit',
    'GET /admin/audit/report',
    'GET /admin/sessions/:id',
    'POST /admin/invalidate',
    'GET /admin/cache/entries',
    'GET /admin/cache/entry',
    'POST /admin/warm',
    'GET /admin/upstreams',
    'GET /admin/openapi.json',
    'GET /admin/ping',
  ];
  t.same(adminRoutes.map((r) => `${String(r.method)} ${r.url}`).sort(), expected.sort(), 'the admin routes this app has');

  for (const route of adminRoutes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const op = doc.paths[path]?.[String(route.method).toLowerCase()];
    t.ok(op, `${route.method} ${route.url} is in the document`);
    t.same(op?.security, [{ adminToken: [] }], `${route.url}: requires the bearer token`);
    const schema = route.schema as Record<string, { additionalProperties?: boolean }>;
    const input = route.method === 'POST' ? schema['body'] : schema['querystring'];
    t.equal(input?.additionalProperties, false, `${route.method} ${route.url}: its input refuses unknown parameters`);
    if (route.url.includes(':')) t.equal(schema['params']?.additionalProperties, false, `${route.url}: params too`);
    if (!['/admin/openapi.json', '/admin/ping'].includes(route.url)) t.ok(op?.responses?.['200'] !== undefined, `${route.url}: a 200 response is described`);
  }
  t.same(doc.paths['/metrics']?.['get']?.security, undefined, 'a token-free route carries no security requirement');

  const entries = doc.paths['/admin/cache/entries']!['get']!;
  t.same(entries.parameters?.map((p) => `${p.in}:${p.name}`).sort(), ['query:cursor', 'query:limit', 'query:prefix', 'query:upstream']);
  t.ok(doc.paths['/admin/warm']!['post']!.requestBody, 'the warm body is described');
});

t.test('/admin/openapi.json is behind the token, and refuses parameters', async (t) => {
  const { admin } = await setup(t);
  t.equal((await admin.inject({ url: '/admin/openapi.json' })).statusCode, 401);
  t.equal((await admin.inject({ url: '/admin/openapi.json', headers: { authorization: 'Bearer nope' } })).statusCode, 403);
  const bad = await adminInject(admin, '/admin/openapi.json?format=yaml');
  t.equal(bad.statusCode, 400);
  t.match(bad.json().message, /^format: unknown parameter/);
  t.equal((await admin.inject({ url: '/metrics' })).statusCode, 200, 'token-free routes stay token-free');
  t.equal((await admin.inject({ url: '/admin/ping' })).statusCode, 401, 'adminRoutes are behind the token');
  t.same((await adminInject(admin, '/admin/ping')).json(), { pong: true });
});
