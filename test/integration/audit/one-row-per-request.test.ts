import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { rawExchange } from '../forwarding/raw-http.js';

interface Row {
  request_id: string;
  session_id: string | null;
  user_identifier: string | null;
  upstream: string | null;
  method: string;
  path: string;
  query: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  status: number;
  cache_outcome: string | null;
  cache_tier: string | null;
  error_code: string | null;
  response_bytes: string;
  request_bytes: string;
  client_ip: string | null;
  user_agent: string | null;
  as_text: string;
}

t.test('every kind of proxied request produces exactly one audit row, with no secrets in it', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const schemaDb = await target.open(t, { migrate: false });
  const upstream = await startFakeUpstream((req, res, body) => {
    if (req.url === '/boom') return void req.socket.destroy();
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, bytes: body.length }));
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig(
      [
        {
          target: upstream.url,
          rules: [{ path: '/items/:id', action: 'api.item.read', resourceType: 'item', resourceId: '{id}' }],
        },
      ],
      {
        database: { url: schemaDb.url! },
        audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
      },
    ),
  );
  const port = Number(new URL(proxy.url).port);
  const identity = { authorization: 'Bearer SECRET-CREDENTIAL', 'x-session-token': 'tok-abc-123', 'x-user-id': 'alice', 'user-agent': 'deploy-assistant/1.0' };

  const ids: Record<string, string> = {};
  const remember = (name: string, response: { headers: Record<string, unknown> }) => (ids[name] = String(response.headers['x-request-id']));
  remember('miss', await proxy.fetch('/api/items/001?access_token=SECRET-QUERY&x=1', { headers: identity }));
  remember('hit', await proxy.fetch('/api/items/001?x=1&access_token=SECRET-QUERY', { headers: identity }));
  remember('write', await proxy.fetch('/api/items', { method: 'POST', body: 'hello', headers: { ...identity, 'content-type': 'text/plain' } }));
  remember('upstream-500', await proxy.fetch('/api/fail'));
  remember('reset', await proxy.fetch('/api/boom'));
  remember('no-upstream', await proxy.fetch('/nope/x'));
  remember('bad-token', await proxy.fetch('/api/items/002', { headers: { 'x-session-token': 'has space' } }));
  const traversal = await rawExchange(port, 'GET /api/a/../../etc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const absolute = await rawExchange(port, 'GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
  ids['traversal'] = traversal.all('x-request-id')[0]!;
  ids['absolute'] = absolute.all('x-request-id')[0]!;
  await proxy.fetch('/healthz');
  await proxy.fetch('/readyz');

  const expected = Object.keys(ids).length;
  const rows = await pollRows(schemaDb, expected);
  t.equal(rows.length, expected, 'one row per proxied request; health checks are not audited');
  t.same(new Set(rows.map((r) => r.request_id)), new Set(Object.values(ids)), 'rows carry the response request ids');
  const byName = Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, rows.find((r) => r.request_id === id)!]));

  t.match(byName['miss'], { upstream: 'api', method: 'GET', path: '/items/001', action: 'api.item.read', resource_type: 'item', resource_id: '001', status: 200, cache_outcome: 'MISS', user_identifier: 'alice', user_agent: 'deploy-assistant/1.0', client_ip: '127.0.0.1' });
  t.match(byName['miss']!.query, /access_token=\[REDACTED\]/);
  t.match(byName['hit'], { cache_outcome: 'HIT', cache_tier: 'memory', status: 200 });
  t.ok(byName['miss']!.session_id !== null && byName['miss']!.session_id === byName['hit']!.session_id, 'same token, same session id');
  t.match(byName['write'], { method: 'POST', cache_outcome: 'BYPASS', action: 'api.post', request_bytes: '5' });
  t.match(byName['upstream-500'], { status: 500, cache_outcome: 'BYPASS', error_code: null });
  t.match(byName['reset'], { status: 502, error_code: 'upstream_connection_reset' });
  t.match(byName['no-upstream'], { status: 404, error_code: 'no_upstream', upstream: null, action: 'refused' });
  t.match(byName['bad-token'], { status: 400, error_code: 'invalid_session_token', session_id: null });
  t.match(byName['traversal'], { status: 400, error_code: 'path_traversal' });
  t.match(byName['absolute'], { status: 400, error_code: 'bad_request_target' });
  t.ok(Number(byName['miss']!.response_bytes) > 0, 'response bytes counted');

  for (const row of rows) {
    for (const secret of ['SECRET-CREDENTIAL', 'SECRET-QUERY', 'tok-abc-123', 'has space']) {
      t.notMatch(row.as_text, secret, `row ${row.request_id} never holds ${secret}`);
    }
  }
});

async function pollRows(db: { query: <R>(sql: string) => Promise<{ rows: R[] }> }, expected: number): Promise<Row[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await db.query<Row>(`SELECT a.*, row_to_json(a)::text AS as_text FROM audit_logs a`);
    if (rows.length >= expected || Date.now() > deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return (await db.query<Row>(`SELECT a.*, row_to_json(a)::text AS as_text FROM audit_logs a`)).rows;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
