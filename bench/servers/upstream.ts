/**
 * Bench upstream: answers every GET with the same 2 KB JSON after DELAY_MS, counts the calls.
 * `GET /__count` → {"count":N} (not counted), `POST /__reset` → zero. Prints {"port":N} once listening.
 */
import { createServer } from 'node:http';
import { BODY } from './body.js';
import { serveChild } from './serve.js';

const delayMs = Number(process.env['DELAY_MS'] ?? 0);
const port = Number(process.env['PORT'] ?? 0);
let count = 0;

const server = createServer((req, res) => {
  if (req.url === '/__count' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count }));
    return;
  }
  if (req.url === '/__reset' && req.method === 'POST') {
    count = 0;
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET') {
    res.writeHead(405).end();
    return;
  }
  count += 1;
  const send = () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length }).end(BODY);
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
});
serveChild(server, port);
