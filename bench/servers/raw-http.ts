/**
 * The floor under a memory hit: a bare `node:http` server answering the bench's 2 KB JSON with no
 * routing, no cache and no framework. FIELDS=naive sends what the naive peer sends (content-type,
 * content-length); FIELDS=lane sends the nine fields of a sidecache lane hit, with a fresh
 * request id (a UUID) and fresh `age` and `cache-status` values on every response, as the lane
 * does. Used by bench/hit-floor.ts. Env: PORT, FIELDS. Prints {"port":N} once listening.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BODY } from './body.js';

const LANE_HEAD = [
  'x-request-id', '', 'content-type', 'application/json', 'date', new Date().toUTCString(), 'vary', 'Accept-Encoding',
  'age', '', 'x-cache', 'HIT', 'x-cache-tier', 'memory', 'cache-status', '', 'content-length', String(BODY.length),
];
const NAIVE_HEAD = ['content-type', 'application/json', 'content-length', String(BODY.length)];
const lane = process.env['FIELDS'] === 'lane';
let age = 0;

const server = createServer((_req, res) => {
  if (lane) {
    const head = LANE_HEAD.slice();
    head[1] = randomUUID();
    head[9] = String(age);
    head[15] = `sidecache; hit; ttl=${3600 - age}`;
    res.writeHead(200, head);
  } else {
    res.writeHead(200, NAIVE_HEAD);
  }
  res.end(BODY);
});
// What Fastify sets, so keep-alive behaves as for the other servers.
server.keepAliveTimeout = 72_000;
const ticker = setInterval(() => (age = (age + 1) % 3600), 1000);
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  clearInterval(ticker);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
