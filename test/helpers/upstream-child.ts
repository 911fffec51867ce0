import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeSync } from 'node:fs';

/**
 * Child process for `upstream-process.ts`: a fake upstream on 127.0.0.1:UPSTREAM_PORT (0: any
 * free port) answering every request with 200 JSON `{path, version, pid}`, `version` counting
 * the calls for that path. Prints `listening <port>` once it listens and `call <method> <url>`
 * for every request (synchronously, so the parent's count is right even if it is killed next).
 */

if (process.env['UPSTREAM_PORT'] === undefined) {
  // Run directly (not by upstream-process.ts): nothing to do.
  process.exit(0);
}

const versions = new Map<string, number>();
const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const version = (versions.get(url) ?? 0) + 1;
  versions.set(url, version);
  writeSync(1, `call ${req.method} ${url}\n`);
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: url, version, pid: process.pid }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env['UPSTREAM_PORT']), '127.0.0.1', () => {
  writeSync(1, `listening ${(server.address() as AddressInfo).port}\n`);
});
