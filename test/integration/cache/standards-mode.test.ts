import t, { type Test } from 'tap';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

/**
 * Standards mode's own decisions, end to end (the RFC-by-RFC suite is test/integration/standards):
 * HEAD from the stored GET, variants that joined one flight, the Age sent, and (both modes) a
 * stored 5xx never standing in for a fresh one.
 */
const waitFor = async (condition: () => boolean, ms = 2_000) => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

type Handler = (req: IncomingMessage, res: ServerResponse, now: number) => void | Promise<void>;

async function setup(t: Test, handler: Handler, ruleOverrides: Record<string, unknown> = {}) {
  const clock = fakeClock(Date.UTC(2026, 0, 1));
  const upstream = await startFakeUpstream((req, res) => {
    res.sendDate = false;
    res.setHeader('date', new Date(clock.now()).toUTCString());
    return handler(req, res, clock.now());
  });
  t.teardown(() => upstream.close());
  const rule = { path: '/*', methods: ['GET', 'HEAD'], scope: 'shared' as const, respectCacheControl: true, freshness: 'origin' as const, ...ruleOverrides };
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, prefix: '/', rules: [rule] }]), { clock });
  const stored = () => waitFor(() => proxy.stack.memory!.keys().next().done === false);
  return { upstream, proxy, clock, stored };
}

t.test('RFC 9110 §9.3.2: HEAD is answered from the stored GET, and a HEAD miss fills it with a GET', async (t) => {
  const { upstream, proxy, stored } = await setup(t, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60');
    res.setHeader('content-type', 'text/plain');
    res.end('hello world');
  });
  const head = await proxy.fetch('/doc', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body.length, 0, 'no body');
  t.equal(head.headers['content-length'], '11', "the GET's length");
  t.same(upstream.received.map((r) => r.method), ['GET'], 'the cache filled the GET');
  await stored();
  const get = await proxy.fetch('/doc');
  t.equal(get.body.toString(), 'hello world');
  t.equal(get.headers['x-cache'], 'HIT');
  const again = await proxy.fetch('/doc', { method: 'HEAD' });
  t.equal(again.headers['x-cache'], 'HIT');
  t.equal(again.headers['content-length'], '11');
  t.equal(upstream.received.length, 1, 'the origin saw one request');
});

t.test('RFC 9111 §4.2.3: Age sent from the cache counts the upstream Age and the time stored', async (t) => {
  const { proxy, clock, stored } = await setup(t, (_req, res) => {
    res.setHeader('cache-control', 'max-age=3600');
    res.setHeader('age', '100');
    res.end('x');
  });
  const miss = await proxy.fetch('/a');
  t.equal(miss.headers['age'], '100', 'the upstream Age is passed on');
  await stored();
  clock.advance(20_000);
  const hit = await proxy.fetch('/a');
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['age'], '120');
  t.equal(hit.headers[':age'], undefined, 'the stored age field is the cache’s own');
});

t.test('RFC 9111 §4.1: requests that joined one upstream call get it only when their selecting fields match', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { upstream, proxy } = await setup(t, async (req, res) => {
    if (upstream.received.length === 1) await held;
    res.setHeader('cache-control', 'max-age=60');
    res.setHeader('vary', 'Accept-Language');
    res.end(`lang=${req.headers['accept-language'] ?? ''}`);
  });
  const fr = proxy.fetch('/v', { headers: { 'accept-language': 'fr' } });
  await waitFor(() => upstream.received.length === 1);
  const en = proxy.fetch('/v', { headers: { 'accept-language': 'en' } });
  const fr2 = proxy.fetch('/v', { headers: { 'accept-language': 'FR' } });
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  const [a, b, c] = await Promise.all([fr, en, fr2]);
  t.equal(a.body.toString(), 'lang=fr');
  t.equal(b.body.toString(), 'lang=en', 'another variant is fetched for its own request');
  t.equal(c.body.toString(), 'lang=fr', 'a normalised match shares the call');
  t.equal(upstream.received.length, 2);
});

t.test('RFC 5861 §4 (both modes): a stored 5xx never stands in for a fresh one', async (t) => {
  let status = 500;
  const { upstream, proxy, clock, stored } = await setup(
    t,
    (_req, res) => {
      res.statusCode = status;
      res.end(`status ${status}`);
    },
    { freshness: 'rule', respectCacheControl: false, ttlMs: 1_000, statuses: [200, 500], staleIfErrorMs: 3_600_000 },
  );
  t.equal((await proxy.fetch('/e')).status, 500);
  await stored();
  status = 503;
  clock.advance(2_000);
  const after = await proxy.fetch('/e');
  t.equal(after.status, 503, 'the fresh 503, not the stored 500');
  t.equal(after.body.toString(), 'status 503');
  t.equal(upstream.received.length, 2);
});

t.test('RFC 9111 §3.5 and §5.2.2.7: an answer for one client is not handed to requests that joined its call', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { upstream, proxy } = await setup(t, async (req, res) => {
    if (upstream.received.length === 1) await held;
    res.setHeader('cache-control', 'private, max-age=60');
    res.end(`for ${req.headers['authorization'] ?? 'nobody'}`);
  });
  const alice = proxy.fetch('/me', { headers: { authorization: 'Bearer alice' } });
  await waitFor(() => upstream.received.length === 1);
  const bob = proxy.fetch('/me', { headers: { authorization: 'Bearer bob' } });
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  const [a, b] = await Promise.all([alice, bob]);
  t.equal(a.body.toString(), 'for Bearer alice');
  t.equal(b.body.toString(), 'for Bearer bob', "bob's own call, not alice's answer");
  t.equal(upstream.received.length, 2);
});

t.test('RFC 9110 §6.6.1: a response stored without Date is given the time it was received', async (t) => {
  const { proxy, clock, stored } = await setup(t, (_req, res) => {
    res.removeHeader('date');
    res.setHeader('cache-control', 'max-age=600');
    res.end('x');
  });
  const received = new Date(clock.now()).toUTCString();
  await proxy.fetch('/nodate');
  await stored();
  clock.advance(60_000);
  const hit = await proxy.fetch('/nodate');
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['date'], received);
  t.equal(hit.headers['age'], '60');
});
