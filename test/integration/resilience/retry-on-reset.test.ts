import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Pool } from 'undici';
import { Forwarder } from '../../../src/proxy/forwarder.js';
import { resetCode, retryOnceOnReset } from '../../../src/resilience/retry.js';
import { upstreamGuards } from '../../../src/resilience/upstream-guard.js';
import { upstream } from '../../helpers/config.js';

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

const destroy: Behaviour = (req) => req.socket.destroy();
const ok: Behaviour = (_req, res) => res.end('ok');

/** A node:http origin on 127.0.0.1:0 that applies `behaviours` in turn (the last one repeats). */
async function origin(t: Test, ...behaviours: Behaviour[]): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    const behaviour = behaviours[Math.min(hits, behaviours.length - 1)]!;
    hits += 1;
    req.resume();
    req.on('end', () => behaviour(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

function pool(t: Test, url: string): Pool {
  const p = new Pool(url, { connections: 2, headersTimeout: 2_000, bodyTimeout: 2_000 });
  t.teardown(() => p.close());
  return p;
}

t.test('a GET whose socket is destroyed before the response is retried once and succeeds', async (t) => {
  const server = await origin(t, destroy, ok);
  const p = pool(t, server.url);
  const codes: string[] = [];
  const response = await retryOnceOnReset((attempt) => p.request({ method: 'GET', path: `/x?attempt=${attempt}` }), {
    isIdempotent: true,
    jitterMs: 10,
    onRetry: ({ code }) => codes.push(code),
  });
  t.equal(response.statusCode, 200);
  t.equal(await response.body.text(), 'ok');
  t.equal(server.hits(), 2, 'the origin saw the request twice');
  t.equal(codes.length, 1);
  t.ok(['UND_ERR_SOCKET', 'ECONNRESET'].includes(codes[0]!), `undici reported ${codes[0]}`);
});

t.test('the same through the Forwarder, whose SidecacheError wraps the undici error', async (t) => {
  const server = await origin(t, destroy, ok);
  const upstreams = [upstream({ name: 'api', target: server.url })];
  const forwarder = new Forwarder(upstreams, upstreamGuards(upstreams));
  t.teardown(() => forwarder.close());
  const response = await retryOnceOnReset(() => forwarder.request('api', { method: 'GET', path: '/x', headers: [], body: null }), { isIdempotent: true, jitterMs: 5 });
  t.equal(response.status, 200);
  response.body.resume();
  t.equal(server.hits(), 2);
});

t.test('only once: a second reset is the answer', async (t) => {
  const server = await origin(t, destroy);
  const p = pool(t, server.url);
  let calls = 0;
  const err = await retryOnceOnReset(() => (calls++, p.request({ method: 'GET', path: '/x' })), { isIdempotent: true, jitterMs: 5 }).catch((e: unknown) => e);
  t.ok(resetCode(err) !== undefined, `failed with a reset (${(err as { code?: string }).code})`);
  t.equal(calls, 2);
  t.equal(server.hits(), 2);
});

t.test('a POST is never retried', async (t) => {
  const server = await origin(t, destroy, ok);
  const p = pool(t, server.url);
  const err = await retryOnceOnReset(() => p.request({ method: 'POST', path: '/x', body: 'payload' }), { isIdempotent: false, jitterMs: 5 }).catch((e: unknown) => e);
  t.ok(resetCode(err) !== undefined, 'failed with a reset');
  t.equal(server.hits(), 1, 'the origin saw it once');
});

t.test('never retried once the headers have arrived: a mid-body reset surfaces on the body', async (t) => {
  const server = await origin(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial', () => setTimeout(() => res.socket?.destroy(), 20));
  }, ok);
  const p = pool(t, server.url);
  let calls = 0;
  const response = await retryOnceOnReset(() => (calls++, p.request({ method: 'GET', path: '/x' })), { isIdempotent: true, jitterMs: 5 });
  t.equal(response.statusCode, 200, 'the first attempt resolved with its headers');
  await t.rejects(response.body.text(), 'the body fails');
  t.equal(calls, 1);
  t.equal(server.hits(), 1);
});

t.test('ECONNREFUSED is retried once (nothing was sent), then reported', async (t) => {
  const closed = createNetServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const p = pool(t, `http://127.0.0.1:${port}`);
  let calls = 0;
  const started = performance.now();
  const err = await retryOnceOnReset(() => (calls++, p.request({ method: 'GET', path: '/x' })), { isIdempotent: true, jitterMs: 5 }).catch((e: unknown) => e);
  t.equal(resetCode(err), 'ECONNREFUSED');
  t.equal(calls, 2);
  t.ok(performance.now() - started < 1_000, 'fast');
});
