import type { AddressInfo } from 'node:net';
import t from 'tap';
import { loggerOptions } from '../../../src/server/logger.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, rawExchange } from './raw-http.js';

/** An upstream answering 799 (or `?status=`) with a small JSON body. */
async function oddUpstream() {
  return startFakeUpstream((req, res) => {
    const status = Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 799);
    res.writeHead(status, 'Odd', { 'content-type': 'application/json', 'x-from': 'upstream' });
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
}

t.test('RFC 9110 §15: a status above 599 reaches the client unchanged, and is logged and audited once as it is', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { migrate: false });
  const upstream = await oddUpstream();
  t.teardown(() => upstream.close());
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/cached/:id' }] }], {
      database: { url: db.url! },
      audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
    }),
    { logger: { ...(loggerOptions('info', []) as object), stream } },
  );
  const port = (proxy.app.server.address() as AddressInfo).port;

  const passThrough = await rawExchange(port, head('POST /api/things HTTP/1.1', 'Host: sidecache', 'Content-Length: 2', 'Connection: close') + 'hi');
  t.match(passThrough.statusLine, /^HTTP\/1\.1 799 /, 'pass-through');
  t.equal(passThrough.all('x-from')[0], 'upstream');
  t.same(passThrough.json(), { method: 'POST', url: '/things' });
  const fetched = [];
  for (let i = 0; i < 2; i++) fetched.push(await rawExchange(port, head('GET /api/cached/1 HTTP/1.1', 'Host: sidecache', 'Connection: close')));
  for (const response of fetched) {
    t.match(response.statusLine, /^HTTP\/1\.1 799 /, 'read-through');
    t.equal(response.all('x-cache')[0], 'MISS', 'never stored');
    t.same(response.json(), { method: 'GET', url: '/cached/1' });
  }
  const ranged = await rawExchange(port, head('GET /api/cached/2?status=600 HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.match(ranged.statusLine, /^HTTP\/1\.1 600 /);
  t.same(
    upstream.received.map((r) => `${r.method} ${r.url}`),
    ['POST /things', 'GET /cached/1', 'GET /cached/1', 'GET /cached/2?status=600'],
    'each request went upstream once',
  );

  const ids = [passThrough, ...fetched, ranged].map((r) => r.all('x-request-id')[0]);
  const completed = lines.filter((line) => line['msg'] === 'request completed');
  t.same(completed.map((line) => [line['reqId'], line['status']]), ids.map((id, i) => [id, i === 3 ? 600 : 799]), 'one log line per request, with the real status');
  t.notOk(lines.some((line) => line['level'] === 50 || /FST_ERR_BAD_STATUS_CODE/.test(JSON.stringify(line))), 'no error logged');
  const deadline = Date.now() + 10_000;
  let rows: Array<{ request_id: string; status: number; error_code: string | null }> = [];
  while (rows.length < ids.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    rows = (await db.query<{ request_id: string; status: number; error_code: string | null }>('SELECT request_id, status, error_code FROM audit_logs')).rows;
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  rows = (await db.query<{ request_id: string; status: number; error_code: string | null }>('SELECT request_id, status, error_code FROM audit_logs')).rows;
  t.same(
    ids.map((id) => rows.filter((row) => row.request_id === id).map((row) => [row.status, row.error_code])),
    ids.map((_, i) => [[i === 3 ? 600 : 799, null]]),
    'one audit row per request, with the real status',
  );
});

t.test('RFC 9110 §15: a 599 is still set through Fastify, and a HEAD answered 799 has no body', async (t) => {
  const upstream = await oddUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;
  const edge = await rawExchange(port, head('GET /api/x?status=599 HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.equal(edge.status, 599);
  const headed = await rawExchange(port, head('HEAD /api/x HTTP/1.1', 'Host: sidecache', 'Connection: close'), { head: true });
  t.equal(headed.status, 799);
  t.equal(upstream.received.length, 2);
  t.same(upstream.received.map((r) => r.method), ['GET', 'HEAD']);
});
