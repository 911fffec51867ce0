import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, RawConnection } from './raw-http.js';

/**
 * When sidecache answers before it has read the whole request body (upstream failed, body over
 * the limit), RFC 9112 §9.3 leaves two correct outcomes: read and discard the rest of the body
 * so the connection stays usable, or close the connection. A connection that answers with
 * `keep-alive` and then stops reading is wedged: the next request is never answered and
 * `app.close()` waits for the keep-alive timeout.
 */

const BIG = 4 * 1024 * 1024;
const POOL = { connections: 4, connectTimeoutMs: 1000, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, keepAliveTimeoutMs: 1000 };

async function resettingUpstream(t: Test): Promise<string> {
  const server: Server = createServer((req) => req.socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Teardowns run last-in first-out: this runs before startProxy's close, so a wedged connection cannot stall the run. */
function bounded(t: Test, proxy: RunningProxy): RunningProxy {
  t.teardown(() => proxy.app.server.closeAllConnections());
  return proxy;
}

/** Sends an oversized/failed upload, then a second request on the same connection. */
async function uploadThenReuse(t: Test, proxy: RunningProxy, request: string, body: Buffer | string, expectedStatus: number, code: string): Promise<void> {
  const connection = await RawConnection.open((proxy.app.server.address() as AddressInfo).port);
  t.teardown(() => connection.destroy());
  connection.write(request);
  connection.write(body);
  const first = await connection.readResponse({ timeoutMs: 5000 });
  t.equal(first.status, expectedStatus, `first response ${expectedStatus}`);
  t.equal((first.json() as { error: string }).error, code);
  const closes = first.all('connection').some((v) => v.toLowerCase() === 'close');

  if (!connection.ended) connection.write(head('GET /api/next HTTP/1.1', 'Host: s'));
  let outcome: string;
  try {
    const second = await connection.readResponse({ timeoutMs: 3000 });
    outcome = `answered ${second.status}`;
  } catch {
    outcome = connection.ended ? 'closed' : 'wedged';
  }
  t.comment(`first response Connection: ${first.all('connection').join(', ') || '(none)'}; then ${outcome}`);
  t.not(outcome, 'wedged', 'the connection is either drained and reusable, or closed — never left hanging');
  if (outcome === 'closed') t.ok(closes, 'a connection about to be closed is announced with Connection: close');

  const started = Date.now();
  await Promise.race([proxy.app.close(), new Promise((resolve) => setTimeout(resolve, 3000))]);
  t.ok(Date.now() - started < 2000, `app.close() completes promptly (${Date.now() - started} ms)`);
}

t.test('upstream resets during a large upload', async (t) => {
  const proxy = bounded(t, await startProxy(t, testConfig([{ target: await resettingUpstream(t), pool: POOL }])));
  await uploadThenReuse(t, proxy, head('PUT /api/upload HTTP/1.1', 'Host: s', `Content-Length: ${BIG}`), Buffer.alloc(BIG, 1), 502, 'upstream_connection_reset');
});

t.test('content-length body over the limit', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = bounded(t, await startProxy(t, testConfig([{ target: upstream.url }], { server: { maxRequestBodyBytes: 1024 } })));
  await uploadThenReuse(t, proxy, head('POST /api/upload HTTP/1.1', 'Host: s', `Content-Length: ${BIG}`), Buffer.alloc(BIG, 1), 413, 'request_body_too_large');
});

t.test('chunked body over the limit', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = bounded(t, await startProxy(t, testConfig([{ target: upstream.url }], { server: { maxRequestBodyBytes: 1024 } })));
  const chunk = 64 * 1024;
  const body = `${chunk.toString(16)}\r\n${'x'.repeat(chunk)}\r\n`.repeat(BIG / chunk) + '0\r\n\r\n';
  await uploadThenReuse(t, proxy, head('POST /api/upload HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'), body, 413, 'request_body_too_large');
});
