import { gunzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { CONSOLE_CSP } from '../../../src/admin/console-routes.js';
import { buildAdminApp } from '../../../src/admin/server.js';
import { TEST_ADMIN_TOKEN } from '../../helpers/admin.js';

const FILES = {
  'index.html': '<!doctype html><link rel="stylesheet" href="./app-ABCD1234.css"><script type="module" src="./app-WXYZ5678.js"></script>',
  'app-WXYZ5678.js': 'console.log("console");'.repeat(50),
  'app-ABCD1234.css': 'body{margin:0}',
  'notes.txt': 'not served',
};

function setup(t: Test, options: { token?: string | null; dir?: string | null } = {}) {
  const dir = options.dir === undefined ? t.testdir(FILES) : options.dir;
  const admin = buildAdminApp({ token: options.token === undefined ? TEST_ADMIN_TOKEN : options.token, db: null, logger: false, consoleDir: dir });
  t.teardown(() => admin.close());
  return admin;
}

t.test('/console/ serves the built page with a strict CSP, without the token', async (t) => {
  const admin = setup(t);
  const page = await admin.inject('/console/');
  t.equal(page.statusCode, 200);
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated, so a new build is picked up');
  t.equal(page.headers['content-security-policy'], CONSOLE_CSP);
  t.match(CONSOLE_CSP, /default-src 'none'/);
  t.match(CONSOLE_CSP, /script-src 'self'(;|$)/, 'no inline or remote script');
  t.match(CONSOLE_CSP, /connect-src 'self'/, 'data only from this listener');
  t.match(CONSOLE_CSP, /frame-ancestors 'none'/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.notOk(page.headers['set-cookie'], 'no cookie, ever');
  t.equal(page.body, FILES['index.html']);

  const js = await admin.inject('/console/app-WXYZ5678.js');
  t.equal(js.statusCode, 200);
  t.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable', 'content-hashed names are immutable');
  const css = await admin.inject('/console/app-ABCD1234.css');
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  t.equal(css.headers['content-security-policy'], CONSOLE_CSP);
});

t.test('gzip when accepted, ETag revalidation, and /console redirects to /console/', async (t) => {
  const admin = setup(t);
  const gz = await admin.inject({ url: '/console/app-WXYZ5678.js', headers: { 'accept-encoding': 'gzip, br' } });
  t.equal(gz.headers['content-encoding'], 'gzip');
  t.equal(gz.headers['vary'], 'accept-encoding');
  t.equal(gunzipSync(gz.rawPayload).toString(), FILES['app-WXYZ5678.js']);
  t.ok(gz.rawPayload.length < FILES['app-WXYZ5678.js'].length);

  const etag = gz.headers['etag'] as string;
  t.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
  const again = await admin.inject({ url: '/console/app-WXYZ5678.js', headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');

  const bare = await admin.inject('/console');
  t.equal(bare.statusCode, 308);
  t.equal(bare.headers['location'], '/console/', 'relative asset URLs need the trailing slash');
});

t.test('unknown files, other extensions and index.html by name are 404 JSON', async (t) => {
  const admin = setup(t);
  for (const path of ['/console/nope.js', '/console/notes.txt', '/console/index.html', '/console/..%2Fpackage.json', '/console/a/b']) {
    const response = await admin.inject(path);
    t.equal(response.statusCode, 404, path);
    t.equal(response.json().error, 'not_found', path);
  }
});

t.test('a console that was not built answers 404 naming the build step', async (t) => {
  const admin = setup(t, { dir: t.testdir({ 'README.md': 'no index' }) });
  const response = await admin.inject('/console/');
  t.equal(response.statusCode, 404);
  t.match(response.json().message, /npm run build/);
  t.equal((await admin.inject('/console/app.js')).json().message, response.json().message);
});

t.test('no console without an admin token, or with consoleDir null; never in the OpenAPI document', async (t) => {
  t.equal((await setup(t, { token: null }).inject('/console/')).statusCode, 404, 'token unset: nothing it could show');
  t.equal((await setup(t, { dir: null }).inject('/console/')).statusCode, 404, 'switched off');
  const doc = (await setup(t).inject({ url: '/admin/openapi.json', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json() as { paths: Record<string, unknown> };
  t.same(Object.keys(doc.paths).filter((path) => path.startsWith('/console')), []);
});
