/**
 * Bench upstream: answers every GET with the same 2 KB JSON after a delay, counts the calls.
 * The delay starts at DELAY_MS; `POST /__delay?ms=N` changes it at run time (for requests that
 * arrive after it) → {"delayMs":N}. `GET /__count` → {"count":N} (not counted), `POST /__reset`
 * → zero. Prints {"port":N} once listening.
 */
import { createServer } from 'node:http';
import { BODY } from './body.js';
import { MAX_DELAY_MS, parseDelayTarget } from './delay.js';
import { serveChild } from './serve.js';

const initialDelayMs = parseDelayTarget(`/__delay?ms=${process.env['DELAY_MS'] ?? 0}`);
if (initialDelayMs === null) throw new Error(`DELAY_MS must be a whole number of ms from 0 to ${MAX_DELAY_MS}`);
let delayMs: number = initialDelayMs;
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
  if (req.url?.startsWith('/__delay') === true && req.method === 'POST') {
    const ms = parseDelayTarget(req.url);
    if (ms === null) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `ms must be a whole number from 0 to ${MAX_DELAY_MS}` }));
      return;
    }
    delayMs = ms;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ delayMs }));
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
