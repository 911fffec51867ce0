/**
 * Bench origin for the outage and revalidation drills (scenario 8): answers every GET with the
 * bench's 2 KB JSON and counts what it sent. Meant to be killed by PID and started again on the
 * same port (PORT), so it keeps no state worth losing.
 *
 * - `GET /etag/:id` carries `ETag: "v1-<id>"` and answers `304` (no body) to a matching
 *   `If-None-Match`;
 * - any other GET (e.g. `/plain/:id`) answers 200 without validators;
 * - `GET /__count` → {"calls", "ok", "notModified", "bodyBytes"} (not counted), `POST /__reset` → zero.
 *
 * Prints {"port":N} once listening.
 */
import { createServer } from 'node:http';
import { BODY } from './body.js';
import { serveChild } from './serve.js';

const port = Number(process.env['PORT'] ?? 0);
const counts = { calls: 0, ok: 0, notModified: 0, bodyBytes: 0 };

/** True when an If-None-Match list names `etag` (weak comparison, RFC 9110 §13.1.2). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const weakless = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => weakless(tag) === weakless(etag));
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/__count' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    return;
  }
  if (url === '/__reset' && req.method === 'POST') {
    counts.calls = counts.ok = counts.notModified = counts.bodyBytes = 0;
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET') {
    res.writeHead(405).end();
    return;
  }
  counts.calls += 1;
  const etagged = /^\/etag\/([^/?]+)/.exec(url);
  if (etagged !== null) {
    const etag = `"v1-${etagged[1]}"`;
    if (matches(req.headers['if-none-match'], etag)) {
      counts.notModified += 1;
      res.writeHead(304, { etag }).end();
      return;
    }
    counts.ok += 1;
    counts.bodyBytes += BODY.length;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length, etag }).end(BODY);
    return;
  }
  counts.ok += 1;
  counts.bodyBytes += BODY.length;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length }).end(BODY);
});
serveChild(server, port);
