import t from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { encodeCursor } from '../../../src/audit/queries.js';
import { databases } from '../../helpers/database.js';
import { BASE_MS, DAY_MS, fixtureDatabase, fixtureRows, listingOrder, SESSIONS, UNKNOWN_SESSION } from './fixtures.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** [url, the parameter the 400 must name] */
const INVALID: Array<[string, string]> = [
  ['/admin/audit?session=not-a-uuid', 'session'],
  ['/admin/audit?session=11111111-1111-4111-8111-11111111111', 'session'],
  ['/admin/audit?status=abc', 'status'],
  ['/admin/audit?status=600', 'status'],
  ['/admin/audit?status=5x', 'status'],
  ['/admin/audit?cache=MAYBE', 'cache'],
  ['/admin/audit?cache=hit', 'cache'],
  ['/admin/audit?from=yesterday', 'from'],
  ['/admin/audit?to=2025-13-45T00:00:00Z', 'to'],
  ['/admin/audit?from=2025-03-10T12:00:00', 'from'],
  ['/admin/audit?limit=0', 'limit'],
  ['/admin/audit?limit=5000', 'limit'],
  ['/admin/audit?limit=1.5', 'limit'],
  ['/admin/audit?limit=ten', 'limit'],
  ['/admin/audit?cursor=garbage!!', 'cursor'],
  [`/admin/audit?cursor=${b64('not json')}`, 'cursor'],
  [`/admin/audit?cursor=${b64('[1,2]')}`, 'cursor'],
  [`/admin/audit?cursor=${b64('{"ts":"yesterday","id":"x"}')}`, 'cursor'],
  [`/admin/audit?cursor=${b64('{"ts":1,"id":""}')}`, 'cursor'],
  [`/admin/audit?cursor=${b64('{"ts":1,"us":1000,"id":"x"}')}`, 'cursor'],
  [`/admin/audit?cursor=${b64('{"ts":1,"id":"x","sql":"1=1"}')}`, 'cursor'],
  ['/admin/audit?user=', 'user'],
  ['/admin/audit?user=a&user=b', 'user'],
  ['/admin/audit?foo=1', 'foo'],
  ['/admin/audit/report?window=7y', 'window'],
  ['/admin/audit/report?window=0d', 'window'],
  ['/admin/audit/report?window=abc', 'window'],
  ['/admin/audit/report?window=401d', 'window'],
  ['/admin/audit/report?window=7d&from=2025-03-01', 'from'],
  ['/admin/sessions/not-a-uuid', 'id'],
  [`/admin/sessions/${SESSIONS[0]}?limit=0`, 'limit'],
  [`/admin/sessions/${SESSIONS[0]}?verbose=1`, 'verbose'],
];

for (const target of await databases(t)) {
  t.test(`admin API on ${target.name}`, async (t) => {
    const rows = fixtureRows();
    const db = await fixtureDatabase(t, target, rows);
    const app = buildAdminApp({ token: TEST_ADMIN_TOKEN, db, logger: false });
    t.teardown(() => app.close());

    t.test('invalid inputs: 400 invalid_request naming the parameter', async (t) => {
      for (const [url, param] of INVALID) {
        const response = await adminInject(app, url);
        t.equal(response.statusCode, 400, `${url}: 400`);
        const body = response.json();
        t.equal(body.error, 'invalid_request', `${url}: code`);
        t.match(body.message, new RegExp(`^${param}: \\S`), `${url}: message names ${param} (${body.message})`);
        t.equal(body.requestId, response.headers['x-request-id'], `${url}: requestId`);
      }
    });

    t.test('every offending parameter is named, unknown ones with the allowed list', async (t) => {
      const response = await adminInject(app, '/admin/audit?limit=0&foo=1&cache=MAYBE');
      const { message } = response.json();
      t.match(message, /limit: expected an integer from 1 to 1000/);
      t.match(message, /cache: expected one of HIT, MISS, STALE, REVALIDATED, BYPASS, NONE/);
      t.match(message, /foo: unknown parameter \(allowed: session, user, upstream, action, status, cache, from, to, limit, cursor\)/);
    });

    t.test('a valid cursor for rows that do not exist is just an empty page', async (t) => {
      const response = await adminInject(app, `/admin/audit?cursor=${encodeCursor({ ms: BASE_MS - DAY_MS, id: 'zzz' })}`);
      t.equal(response.statusCode, 200);
      t.same(response.json(), { items: [], nextCursor: null });
    });

    t.test('values are bound, never spliced into SQL', async (t) => {
      const hostile = `x' OR '1'='1`;
      for (const param of ['user', 'upstream', 'action']) {
        const response = await adminInject(app, { url: '/admin/audit', query: { [param]: hostile } });
        t.equal(response.statusCode, 200, param);
        t.same(response.json().items, [], `${param}: matches nothing`);
      }
      const cursor = encodeCursor({ ms: BASE_MS + 10 * DAY_MS, id: `'); DROP TABLE audit_logs; --` });
      t.equal((await adminInject(app, `/admin/audit?cursor=${cursor}&limit=1000`)).json().items.length, rows.length, 'a hostile cursor id is a plain value');
    });

    t.test('GET /admin/sessions/:id: the session without its token hash, and its recent activity', async (t) => {
      const response = await adminInject(app, `/admin/sessions/${SESSIONS[1]}`);
      t.equal(response.statusCode, 200);
      t.notMatch(response.body, /f{56}/, 'the token hash is never sent');
      const body = response.json();
      t.same(body.session, {
        id: SESSIONS[1],
        tokenPrefix: 'bbbbbbbb',
        userIdentifier: 'bob',
        preferences: { theme: 't1' },
        createdAt: new Date(BASE_MS).toISOString(),
        lastAccessed: new Date(BASE_MS + 3 * DAY_MS).toISOString(),
        expiresAt: new Date(BASE_MS + 30 * DAY_MS).toISOString(),
      });
      const expected = listingOrder(rows.filter((r) => r.session_id === SESSIONS[1]));
      t.same(body.recentActivity.map((item: { requestId: string }) => item.requestId), expected);

      const two = (await adminInject(app, `/admin/sessions/${SESSIONS[1]}?limit=2`)).json();
      t.same(two.recentActivity.map((item: { requestId: string }) => item.requestId), expected.slice(0, 2), 'limit');
      t.equal((await adminInject(app, `/admin/sessions/${SESSIONS[1].toUpperCase()}`)).statusCode, 200, 'upper-case id');
    });

    t.test('GET /admin/sessions/:id for an unknown session: 404 session_not_found', async (t) => {
      const response = await adminInject(app, `/admin/sessions/${UNKNOWN_SESSION}`);
      t.equal(response.statusCode, 404);
      t.same(response.json(), { error: 'session_not_found', message: 'no session has this id', requestId: response.headers['x-request-id'] });
    });

    t.test('x-request-id on every response: the caller’s own when sane, else a new one', async (t) => {
      const own = await adminInject(app, { url: '/admin/audit?limit=1', headers: { 'x-request-id': 'trace-42' } });
      t.equal(own.headers['x-request-id'], 'trace-42');
      const insane = await adminInject(app, { url: '/admin/audit?limit=0', headers: { 'x-request-id': 'a b' } });
      t.match(insane.headers['x-request-id'], /^[0-9a-f-]{36}$/);
      t.equal(insane.json().requestId, insane.headers['x-request-id']);
      const missing = await adminInject(app, '/admin/nothing-here');
      t.equal(missing.statusCode, 404);
      t.equal(missing.json().error, 'not_found');
      t.ok(missing.headers['x-request-id']);
    });
  });
}

t.test('without a database the audit routes answer 503 audit_unavailable', async (t) => {
  const app = buildAdminApp({ token: TEST_ADMIN_TOKEN, db: null, logger: false });
  t.teardown(() => app.close());
  for (const url of ['/admin/audit', '/admin/audit/report?window=24h', `/admin/sessions/${SESSIONS[0]}`]) {
    const response = await adminInject(app, url);
    t.equal(response.statusCode, 503, url);
    t.equal(response.json().error, 'audit_unavailable', url);
    t.ok(response.headers['x-request-id'], `${url}: x-request-id`);
  }
  for (const url of ['/admin/audit?foo=1', '/admin/audit?cursor=garbage!!', '/admin/audit/report?window=0d', '/admin/sessions/x']) {
    t.equal((await adminInject(app, url)).statusCode, 400, `${url}: bad input is still a 400`);
  }
});

t.test('extraRoutes plug more routes into the admin app', async (t) => {
  const app = buildAdminApp({ token: TEST_ADMIN_TOKEN,
    db: null,
    logger: false,
    extraRoutes: (admin) => {
      admin.get('/admin/ping', async () => ({ pong: true }));
    },
  });
  t.teardown(() => app.close());
  const response = await adminInject(app, '/admin/ping');
  t.same(response.json(), { pong: true });
  t.ok(response.headers['x-request-id']);
});
