import t, { type Test } from 'tap';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { PROTECTION_DEFAULTS } from '../../../src/config/protection.js';
import { startFakeUpstream, type UpstreamHandler } from '../../helpers/fake-upstream.js';

const waitFor = async (condition: () => boolean, ms = 2_000) => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

async function setup(t: Test, windows: { staleWhileRevalidateMs?: number; staleIfErrorMs?: number }, handler: UpstreamHandler) {
  const upstream = await startFakeUpstream(handler);
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.now());
  const protection = { ...PROTECTION_DEFAULTS, retryAfterDefaultMs: 1_000 };
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, protection, rules: [{ path: '/items/:id', ttlMs: 10_000, ...windows }] }]), {
    now: clock.now,
  });
  return { upstream, proxy, clock };
}

t.test('stale-while-revalidate: served at once, refreshed once in the background', async (t) => {
  let version = 1;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const { upstream, proxy, clock } = await setup(t, { staleWhileRevalidateMs: 30_000, staleIfErrorMs: 0 }, async (_req, res) => {
    // The background refresh is held until the stale responses are out.
    if (version > 1) await held;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version }));
  });
  t.equal((await proxy.fetch('/api/items/1')).headers['x-cache'], 'MISS');
  version = 2;
  clock.advance(15_000);

  const stale = await Promise.all([proxy.fetch('/api/items/1'), proxy.fetch('/api/items/1'), proxy.fetch('/api/items/1')]);
  for (const response of stale) {
    t.equal(response.status, 200);
    t.equal(response.headers['x-cache'], 'STALE');
    t.equal(response.headers['cache-status'], 'sidecache; hit; fwd=stale');
    t.equal(response.headers['x-cache-stale-reason'], 'revalidating');
    t.same(response.json(), { version: 1 }, 'the stale body, at once');
  }
  release();
  await waitFor(() => upstream.received.length === 2);
  await waitFor(() => proxy.stack.peekMemory([...proxy.stack.memory!.keys()][0]!)!.entry.storedAt === clock.now());
  t.equal(upstream.received.length, 2, 'three stale hits, one background refresh');
  const fresh = await proxy.fetch('/api/items/1');
  t.equal(fresh.headers['x-cache'], 'HIT');
  t.same(fresh.json(), { version: 2 });

  clock.advance(10_000 + 30_000);
  t.equal((await proxy.fetch('/api/items/1')).headers['x-cache'], 'MISS', 'past the window the client waits for the upstream');
});

t.test('stale-if-error: 5xx, 429, the Salesforce request limit and a dead upstream all get the stale entry', async (t) => {
  let answer: { status: number; body: string; headers?: Record<string, string> } | null = null;
  const { upstream, proxy, clock } = await setup(t, { staleWhileRevalidateMs: 0, staleIfErrorMs: 3_600_000 }, (_req, res) => {
    const reply = answer ?? { status: 200, body: '{"ok":true}' };
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body);
  });
  await proxy.fetch('/api/items/1');
  clock.advance(60_000);

  const cases = [
    { answer: { status: 503, body: 'down' }, reason: 'error', fwdStatus: 503 },
    { answer: { status: 500, body: 'boom' }, reason: 'error', fwdStatus: 500 },
  ];
  for (const c of cases) {
    answer = c.answer;
    const response = await proxy.fetch('/api/items/1');
    t.equal(response.status, 200, `${c.answer.status} → stale 200`);
    t.equal(response.headers['x-cache'], 'STALE');
    t.equal(response.headers['x-cache-stale-reason'], c.reason);
    t.equal(response.headers['cache-status'], `sidecache; hit; fwd=stale; fwd-status=${c.fwdStatus}; detail=stale-if-error`);
    t.same(response.json(), { ok: true });
  }

  answer = { status: 403, body: '[{"message":"no access","errorCode":"INSUFFICIENT_ACCESS"}]' };
  t.equal((await proxy.fetch('/api/items/1')).status, 403, 'an ordinary 403 is an answer, passed on');
  answer = { status: 404, body: '{}' };
  t.equal((await proxy.fetch('/api/items/1')).status, 404, 'so is a 404');

  // 429 and the Salesforce limit pause the upstream: stale is served without calling it.
  for (const limited of [
    { status: 429, body: 'slow down', headers: { 'retry-after': '1' } },
    { status: 403, body: '[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]' },
  ]) {
    answer = limited;
    const first = await proxy.fetch('/api/items/1');
    t.equal(first.status, 200, `${limited.status} limit → stale 200`);
    t.equal(first.headers['x-cache-stale-reason'], 'rate_limited');
    t.equal(first.headers['cache-status'], `sidecache; hit; fwd=stale; fwd-status=${limited.status}; detail=stale-if-error`);
    const calls = upstream.received.length;
    const paused = await proxy.fetch('/api/items/1');
    t.equal(paused.status, 200);
    t.equal(paused.headers['x-cache-stale-reason'], 'rate_limited');
    t.equal(paused.headers['cache-status'], 'sidecache; hit; fwd=stale; detail=stale-if-error');
    t.equal(upstream.received.length, calls, 'no upstream call while paused');
    const uncached = await proxy.fetch('/api/items/9');
    t.equal(uncached.status, 503, 'nothing cached while paused: 503');
    t.equal((uncached.json() as { error: string }).error, 'upstream_throttled');
    t.ok(Number(uncached.headers['retry-after']) >= 1, 'with Retry-After');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  }
  answer = null;
  t.equal((await proxy.fetch('/api/items/1')).headers['x-cache'], 'MISS', 'after the pause the upstream is called again');
  clock.advance(60_000);

  await upstream.close();
  const dead = await proxy.fetch('/api/items/1');
  t.equal(dead.status, 200, 'upstream unreachable → stale');
  t.equal(dead.headers['x-cache-stale-reason'], 'error');
  t.equal(dead.headers['cache-status'], 'sidecache; hit; fwd=stale; detail=stale-if-error');
  const uncached = await proxy.fetch('/api/items/2');
  t.equal(uncached.status, 502, 'nothing cached: the error');
  t.equal((uncached.json() as { error: string }).error, 'upstream_unreachable');

  clock.advance(3_600_000);
  t.equal((await proxy.fetch('/api/items/1')).status, 502, 'past the stale-if-error window: the error');
});

t.test('conditional revalidation: a 304 renews the entry without a body', async (t) => {
  let etag = '"v1"';
  let bodyBytes = 0;
  const { upstream, proxy, clock } = await setup(t, { staleWhileRevalidateMs: 0, staleIfErrorMs: 60_000 }, (req, res) => {
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'x-upstream-date': 'renewed' });
      res.end();
      return;
    }
    const body = JSON.stringify({ etag });
    bodyBytes += body.length;
    res.writeHead(200, { 'content-type': 'application/json', etag, 'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT' });
    res.end(body);
  });
  await proxy.fetch('/api/items/1');
  t.equal(upstream.received[0]!.headers['if-none-match'], undefined);
  clock.advance(20_000);

  const revalidated = await proxy.fetch('/api/items/1');
  t.equal(upstream.received[1]!.headers['if-none-match'], '"v1"', 'the stored ETag is sent');
  t.equal(upstream.received[1]!.headers['if-modified-since'], 'Tue, 01 Sep 2026 10:00:00 GMT');
  t.equal(revalidated.status, 200);
  t.equal(revalidated.headers['x-cache'], 'REVALIDATED');
  t.match(revalidated.headers['cache-status'], /fwd=stale; fwd-status=304; stored/);
  t.equal(revalidated.headers['x-upstream-date'], 'renewed', "the 304's headers update the entry");
  t.same(revalidated.json(), { etag: '"v1"' });
  t.equal(bodyBytes, JSON.stringify({ etag: '"v1"' }).length, 'the body crossed the wire once');
  t.equal((await proxy.fetch('/api/items/1')).headers['x-cache'], 'HIT', 'renewed for a full ttl');

  etag = '"v2"';
  clock.advance(20_000);
  const changed = await proxy.fetch('/api/items/1');
  t.equal(changed.headers['x-cache'], 'MISS');
  t.same(changed.json(), { etag: '"v2"' });
});

t.test("the client's own conditional requests are answered from the cache", async (t) => {
  const { upstream, proxy } = await setup(t, {}, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', etag: '"abc"', 'cache-control': 'max-age=60' });
    res.end('{"a":1}');
  });
  const miss = await proxy.fetch('/api/items/1', { headers: { 'if-none-match': '"abc"' } });
  t.equal(upstream.received[0]!.headers['if-none-match'], undefined, "the cache fetches the full response, not the client's 304");
  t.equal(miss.status, 304, 'then answers the client from it');
  t.equal(miss.headers['etag'], '"abc"');
  t.equal(miss.body.length, 0);

  const hit = await proxy.fetch('/api/items/1', { headers: { 'if-none-match': 'W/"abc"' } });
  t.equal(hit.status, 304);
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['cache-control'], 'max-age=60');
  t.equal(hit.headers['content-type'], undefined, '304 carries only the validator-related fields');

  const other = await proxy.fetch('/api/items/1', { headers: { 'if-none-match': '"zzz"' } });
  t.equal(other.status, 200);
  t.same(other.json(), { a: 1 });
  t.equal(upstream.received.length, 1);
});
