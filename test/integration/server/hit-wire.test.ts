import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { CacheEntry } from '../../../src/cache/entry.js';
import { preparedHead } from '../../../src/proxy/prepared-head.js';
import { hitWireOf, sendHit } from '../../../src/server/hit-wire.js';

const STORED_DATE = 'Sat, 05 Dec 2026 07:00:00 GMT';

function entry(headers: CacheEntry['headers'], status = 200): CacheEntry {
  return { key: 'k', upstream: 'api', path: '/x', status, headers, body: Buffer.from('{"hello":"world"}'), storedAt: 0, expiresAt: 1, staleUntil: 1, tags: [], scope: 'shared' };
}

const STORED = entry({ 'content-type': 'application/json', date: STORED_DATE, etag: '"v1"', link: ['<a>; rel="a"', '<b>; rel="b"'] });

/** What the lane writes per response, fixed here so two answers can be compared byte for byte. */
const ID = 'req-1';
const AGE = '7';
const CACHE_STATUS = 'sidecache; hit; ttl=53';

interface Answered {
  readonly direct: boolean[];
}

/** A node:http server answering `/direct` with direct writes on (as the lane does) and anything else through writeHead alone. */
async function hitServer(t: Test, stored: CacheEntry, configure: (server: Server) => void = () => {}): Promise<{ port: number; answered: Answered }> {
  const prepared = preparedHead(stored);
  const answered: Answered = { direct: [] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const direct = sendHit(req, res, stored, prepared, ID, AGE, CACHE_STATUS, req.url === '/direct');
    if (req.url === '/direct') answered.direct.push(direct);
  });
  configure(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, answered };
}

/** Sends raw request bytes and collects what comes back until `done` says the answer is whole, or the server closes. */
function exchange(port: number, request: string, done: (received: string) => boolean): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no whole answer within 5 s; got ${JSON.stringify(received)}`));
    }, 5_000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closed });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (done(received)) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('error', reject);
    socket.write(request);
  });
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const answers = (n: number) => (received: string) => received.split('{"hello":"world"}').length > n;

t.test('the direct head is byte for byte the head writeHead builds', async (t) => {
  const cases: Array<[string, (server: Server) => void]> = [
    ['the default keep-alive timeout', () => {}],
    ["Fastify's keep-alive timeout", (server) => (server.keepAliveTimeout = 72_000)],
    ['no keep-alive timeout', (server) => (server.keepAliveTimeout = 0)],
    ['a per-socket request limit not yet reached', (server) => (server.maxRequestsPerSocket = 5)],
  ];
  for (const [name, configure] of cases) {
    const { port, answered } = await hitServer(t, STORED, configure);
    const viaWriteHead = await exchange(port, GET('/writehead'), answers(1));
    const direct = await exchange(port, GET('/direct'), answers(1));
    t.same(answered.direct, [true], `${name}: written directly`);
    t.equal(direct.received, viaWriteHead.received, `${name}: the same bytes`);
  }
  const statuses = await hitServer(t, entry({ date: STORED_DATE }, 203));
  const viaWriteHead = await exchange(statuses.port, GET('/writehead'), answers(1));
  const direct = await exchange(statuses.port, GET('/direct'), answers(1));
  t.match(direct.received, /^HTTP\/1\.1 203 Non-Authoritative Information\r\n/);
  t.equal(direct.received, viaWriteHead.received, 'another status: the same bytes');
});

t.test('a connection stays open across direct answers, and a pipelined request waits its turn', async (t) => {
  const { port, answered } = await hitServer(t, STORED);
  const three = await exchange(port, GET('/direct'), answers(1));
  t.notOk(three.closed);

  const pipelined = await exchange(port, GET('/direct') + GET('/direct') + GET('/direct'), answers(3));
  t.equal(pipelined.received.match(/HTTP\/1\.1 200 OK\r\n/g)?.length, 3, 'three whole answers, in order, on one connection');
  t.notOk(pipelined.closed);
  // The first is next on its socket; the others arrive while it is still the socket's message, so node:http queues them.
  t.same(answered.direct.slice(1), [true, false, false], 'pipelined requests behind an unfinished answer are left to writeHead');
});

t.test('what would close the connection is left to writeHead, which closes it', async (t) => {
  const { port, answered } = await hitServer(t, STORED);
  const close = await exchange(port, GET('/direct', 'Connection: close\r\n'), () => false);
  t.match(close.received, /\r\nConnection: close\r\n/);
  t.ok(close.closed);

  const http10 = await exchange(port, 'GET /direct HTTP/1.0\r\nHost: x\r\n\r\n', () => false);
  t.match(http10.received, /^HTTP\/1\.1 200 OK\r\n/);
  t.ok(http10.closed, 'an HTTP/1.0 client without keep-alive gets the connection closed');
  t.same(answered.direct, [false, false]);

  const limited = await hitServer(t, STORED, (server) => (server.maxRequestsPerSocket = 2));
  const two = await exchange(limited.port, GET('/direct') + GET('/direct'), answers(2));
  t.match(two.received, /Keep-Alive: timeout=5, max=2\r\n/, 'the first names the limit, as node:http does');
  t.match(two.received, /Connection: close\r\n/, 'the last the limit allows announces the close');
  t.same(limited.answered.direct, [true, false]);
});

t.test('an entry whose head node:http must write itself has no wire template', async (t) => {
  t.equal(hitWireOf(200, preparedHead(entry({ 'content-type': 'application/json' }))), null, 'no stored Date: node:http adds one');
  t.equal(hitWireOf(200, preparedHead(entry({ date: STORED_DATE, 'x-bad': 'a\r\nset-cookie: evil=1' }))), null, 'a CR LF in a stored value');
  t.equal(hitWireOf(200, preparedHead(entry({ date: STORED_DATE, 'bad name': 'x' }))), null, 'a stored name that is not a token');
  const wire = hitWireOf(200, preparedHead(STORED));
  t.equal(wire?.length, 4);
  t.equal(hitWireOf(200, preparedHead(STORED)), wire, 'built once per prepared head');
});
