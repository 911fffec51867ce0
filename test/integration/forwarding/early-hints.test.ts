import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type UpstreamHandler } from '../../helpers/fake-upstream.js';
import { head, rawExchange } from './raw-http.js';

const PRELOAD = '</style.css>; rel=preload; as=style';
const PRECONNECT = '<https://cdn.example>; rel=preconnect';

/** Sends 103 Early Hints (and, for `?processing`, a 102 first), then the final 200 a little later. */
const hinting: UpstreamHandler = async (req, res) => {
  if (req.url!.includes('processing')) res.writeProcessing();
  res.writeEarlyHints({ link: [PRELOAD, PRECONNECT], 'x-hint': 'early' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  res.writeHead(200, { 'content-type': 'text/plain', link: PRELOAD });
  res.end(`final ${req.method}`);
};

t.test('RFC 8297: a 103 Early Hints from the upstream reaches the client before the final response', async (t) => {
  const upstream = await startFakeUpstream(hinting);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  for (const method of ['GET', 'POST']) {
    const response = await rawExchange(port, head(`${method} /api/page HTTP/1.1`, 'Host: sidecache', 'Content-Length: 0', 'Connection: close'));
    t.equal(response.status, 200, method);
    t.equal(response.body.toString(), `final ${method}`);
    t.equal(response.interim.length, 1, `${method}: one interim response`);
    const hints = response.interim[0]!;
    t.equal(hints.status, 103);
    t.same(hints.all('link'), [`${PRELOAD}, ${PRECONNECT}`], `${method}: its Link values`);
    t.same(hints.all('x-hint'), ['early'], `${method}: and its other fields`);
    t.same(hints.all('x-request-id'), [], 'a 103 carries only what the upstream hinted');
  }
  t.same(upstream.received.map((r) => r.method), ['GET', 'POST'], 'one upstream request each');
});

t.test('RFC 9110 §15.2: a 102 is not relayed, and an HTTP/1.0 client gets no interim response at all', async (t) => {
  const upstream = await startFakeUpstream(hinting);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  const processing = await rawExchange(port, head('GET /api/page?processing HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.same(processing.interim.map((r) => r.status), [103], 'the 102 stays behind, the 103 goes on');
  const old = await rawExchange(port, head('GET /api/page HTTP/1.0', 'Host: sidecache'));
  t.equal(old.status, 200);
  t.equal(old.body.toString(), 'final GET');
  t.same(old.interim, [], 'nothing but the final response for HTTP/1.0');
  t.equal(upstream.received.length, 2);
});

t.test('RFC 8297: a cacheable miss does not relay 103 (its upstream call is shared by every waiting request)', async (t) => {
  const upstream = await startFakeUpstream(hinting);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/page' }] }]));
  const port = (proxy.app.server.address() as AddressInfo).port;
  const miss = await rawExchange(port, head('GET /api/page HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.equal(miss.all('x-cache')[0], 'MISS');
  t.same(miss.interim, []);
  t.equal(miss.body.toString(), 'final GET');
  t.equal(upstream.received.length, 1);
});
