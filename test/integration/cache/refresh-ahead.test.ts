import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const waitFor = async (condition: () => boolean, ms = 2_000) => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

t.test('hot entries of refreshAhead rules are refreshed before they expire, within the budget', async (t) => {
  let version = 1;
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version }));
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.now());
  const config = testConfig(
    [{ target: upstream.url, rules: [{ path: '/hot/:id', ttlMs: 10_000, refreshAhead: true }, { path: '/plain/:id', ttlMs: 10_000 }] }],
    { cache: { refreshAhead: { budgetPerMinute: 2, lead: 0.1, maxTracked: 100 } } },
  );
  const proxy = await startProxy(t, config, { now: clock.now });

  for (const path of ['/api/hot/1', '/api/hot/2', '/api/hot/3', '/api/plain/1']) await proxy.fetch(path);
  t.equal(upstream.received.length, 4);
  for (const path of ['/api/hot/1', '/api/hot/2', '/api/hot/3', '/api/plain/1']) t.equal((await proxy.fetch(path)).headers['x-cache'], 'HIT');

  clock.advance(5_000);
  t.equal(proxy.refreshAhead.tick(), 0, 'outside the lead window (last 10% of the ttl): nothing to do');
  clock.advance(4_200);
  version = 2;
  t.equal(proxy.refreshAhead.tick(), 2, 'two hot entries refreshed: the budget allows two per minute');
  t.equal(proxy.refreshAhead.stats.skippedBudget, 1, 'the third waits for budget');
  await waitFor(() => upstream.received.length === 6);
  t.notOk(upstream.received.some((r) => r.url === '/plain/1' && upstream.received.indexOf(r) > 3), 'rules without refreshAhead are never refreshed ahead');

  clock.advance(1_000);
  const refreshedPaths = upstream.received.slice(4).map((r) => `/api${r.url}`);
  t.equal(new Set(refreshedPaths).size, 2, `two distinct entries refreshed: ${refreshedPaths.join(', ')}`);
  const refreshed = await Promise.all(refreshedPaths.map((p) => proxy.fetch(p)));
  for (const response of refreshed) {
    t.equal(response.headers['x-cache'], 'HIT', 'past the original ttl, still a fresh hit');
    t.same(response.json(), { version: 2 });
  }
  t.equal((await proxy.fetch('/api/plain/1')).headers['x-cache'], 'MISS', 'the plain rule expired as usual');
});

t.test('entries not hit within their last ttl are not refreshed', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.now());
  const config = testConfig([{ target: upstream.url, rules: [{ path: '/hot/:id', ttlMs: 10_000, refreshAhead: true }] }]);
  const proxy = await startProxy(t, config, { now: clock.now });
  await proxy.fetch('/api/hot/1');
  await proxy.fetch('/api/hot/1');
  clock.advance(20_000);
  t.equal(proxy.refreshAhead.tick(), 0, 'expired and cold: forgotten');
  t.equal(upstream.received.length, 1);
});
