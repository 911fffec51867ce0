import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { PROTECTION_DEFAULTS } from '../../../src/config/protection.js';
import { head, RawConnection, rawExchange } from '../forwarding/raw-http.js';

interface Row {
  request_id: string;
  upstream: string | null;
  method: string;
  path: string;
  query: string | null;
  action: string;
  status: number;
  error_code: string | null;
  request_bytes: string;
}

interface LogLine {
  msg: string;
  level?: number;
  error?: string | null;
  failed?: string | null;
  status?: number;
  url?: string;
}

const V = '/services/data/v60.0';

/**
 * Requests that fail on the client's side (it leaves mid-body or mid-download, sends framing the
 * parser refuses, or a request head over `maxHeaderBytes`) each get exactly one audit row and one
 * log line, blamed on the client, and never count against the upstream's breaker.
 */
t.test('client faults: one audit row and one log line each, blamed on the client', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { migrate: false });
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/slow-body') {
      // Headers now, the body never: the client leaves mid-download.
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"partial":');
      return;
    }
    res.end('{"ok":true}');
  });
  t.teardown(() => upstream.close());

  const lines: LogLine[] = [];
  const logger = {
    level: 'info',
    stream: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  };
  // A breaker that a few failures would open: aborted uploads must not be among them.
  const protection = { ...PROTECTION_DEFAULTS, breaker: { ...PROTECTION_DEFAULTS.breaker, minimumCalls: 2, failureRate: 0.5 } };
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, protection, rules: [{ path: '/services/data/:v/query', query: { q: true } }] }], {
      database: { url: db.url! },
      audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
      server: { logLevel: 'info' },
    }),
    { logger },
  );
  t.teardown(() => proxy.app.server.closeAllConnections());
  const port = (proxy.app.server.address() as AddressInfo).port;

  // 1. Aborted mid-body, five times each (enough to open the breaker if they counted): bodies
  // received whole before the upstream call, and bodies too large for that, streamed to it.
  for (const length of [100_000, 5_000_000]) {
    for (let i = 0; i < 5; i++) {
      const connection = await RawConnection.open(port);
      connection.write(head('POST /api/upload HTTP/1.1', 'Host: s', `Content-Length: ${length}`));
      connection.write('x'.repeat(64 * 1024));
      await sleep(100);
      connection.destroy();
    }
  }
  await waitUntil(() => proxy.health.upstreamGuards!().get('api')!.inFlight === 0);
  // 2. Broken chunked framing.
  const chunked = await RawConnection.open(port);
  chunked.write(head('POST /api/chunked HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked') + '5\r\nhello\r\nZZ\r\n');
  const brokenChunking = await chunked.readResponse();
  chunked.destroy();
  // 3. A request line the parser refuses, and a header it refuses.
  const garbage = await rawExchange(port, 'GET /api/x HTTP/1.1 extra\r\nHost: s\r\n\r\n');
  const badHeader = await rawExchange(port, head('GET /api/y HTTP/1.1', 'Host: s', 'Bad Header: y'));
  // 4. A SOQL query too long for the request line (over 16 KB), with a secret in the query.
  const soql = `SELECT Id FROM Account WHERE Name IN (${Array.from({ length: 2000 }, (_, i) => `'n${i}'`).join(',')})`;
  const longUrl = `/api${V}/query?access_token=SECRET-TOKEN&q=${encodeURIComponent(soql)}`;
  const tooLong = await rawExchange(port, head(`GET ${longUrl} HTTP/1.1`, 'Host: s'));
  // 5. The client leaves while the response body is still coming.
  const download = await RawConnection.open(port);
  download.write(head('GET /api/slow-body HTTP/1.1', 'Host: s'));
  await waitUntil(() => download.pending.includes('\r\n\r\n'));
  const downloadId = /x-request-id: (\S+)/i.exec(download.pending.toString('latin1'))![1]!;
  download.destroy();

  t.equal(brokenChunking.status, 400);
  t.match(brokenChunking.json(), { error: 'client_malformed_request' });
  t.equal(garbage.status, 400);
  t.match(garbage.json(), { error: 'client_malformed_request' });
  t.equal(badHeader.status, 400);
  t.equal(tooLong.status, 431);
  t.match(tooLong.json(), { error: 'request_header_too_large' });
  for (const response of [brokenChunking, garbage, badHeader, tooLong]) {
    t.equal(response.all('content-type')[0], 'application/json; charset=utf-8');
    t.equal(response.all('x-request-id')[0], (response.json() as { requestId: string }).requestId, 'the request id is in the header and the body');
  }

  const rows = await pollRows(db, 15);
  t.equal(rows.length, 15, 'one row per request: 10 aborted uploads, broken chunking, 2 refused heads, 1 over-long head, 1 abandoned download');
  const by = (code: string) => rows.filter((r) => r.error_code === code);
  t.equal(by('client_aborted').length, 11);
  for (const row of by('client_aborted').filter((r) => r.path === '/upload')) {
    t.match(row, { upstream: 'api', method: 'POST', status: 0 }, 'an aborted upload: nothing was answered');
    t.ok(Number(row.request_bytes) > 0, 'the bytes that did arrive are counted');
  }
  t.match(rows.find((r) => r.request_id === downloadId), { status: 200, error_code: 'client_aborted', path: '/slow-body' }, 'an abandoned download keeps the status that was sent');
  t.match(rows.find((r) => r.request_id === (brokenChunking.json() as { requestId: string }).requestId), { status: 400, error_code: 'client_malformed_request', path: '/chunked' });
  t.equal(by('client_malformed_request').length, 3);
  const header = by('request_header_too_large');
  t.equal(header.length, 1);
  t.match(header[0], { status: 431, method: 'GET', upstream: null, action: 'refused', path: `/api${V}/query`, request_id: (tooLong.json() as { requestId: string }).requestId });
  t.match(header[0]!.query, /access_token=\[REDACTED\]/, 'secret query values are redacted in the row');

  const completed = lines.filter((l) => l.msg === 'request completed');
  t.equal(completed.length, 15, 'one access-log line per request');
  t.same(
    completed.map((l) => l.failed),
    Array(15).fill('client'),
    'every one of them names the client as the party that failed',
  );
  t.notOk(lines.some((l) => /upstream sent an invalid response/.test(l.msg)), 'nothing blames the upstream');
  t.same(lines.filter((l) => (l.level ?? 0) >= 40), [], 'and nothing is logged as a warning or an error');
  t.notOk(JSON.stringify(lines).includes('SECRET-TOKEN'), 'the secret never reaches the log');

  const guard = proxy.health.upstreamGuards!().get('api')!;
  t.equal(guard.breakerState, 'closed', 'aborted uploads did not open the breaker');
  t.equal(guard.inFlight, 0, 'every slot came back');
  t.equal((await proxy.fetch('/api/after')).status, 200, 'the upstream is still served');
  t.notOk((await proxy.metrics.registry.metrics()).match(/sidecache_upstream_request_duration_seconds_count\{[^}]*status_class="error"[^}]*\} [1-9]/), 'no upstream call is counted as an error');
});

async function pollRows(db: { query: <R>(sql: string) => Promise<{ rows: R[] }> }, expected: number): Promise<Row[]> {
  const deadline = Date.now() + 10_000;
  const read = async () => (await db.query<Row>('SELECT * FROM audit_logs ORDER BY ts')).rows;
  while ((await read()).length < expected && Date.now() < deadline) await sleep(50);
  await sleep(300); // and no extra row arrives late
  return read();
}

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

