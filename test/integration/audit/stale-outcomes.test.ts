import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { waitFor } from './helpers.js';

t.test('stale and revalidated responses are audited with their own cache outcome', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const schemaDb = await target.open(t, { migrate: false });
  let failing = false;
  const upstream = await startFakeUpstream((req, res) => {
    if (failing) {
      res.statusCode = 503;
      return void res.end('down');
    }
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { etag: '"v1"' });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
    res.end('{"v":1}');
  });
  t.teardown(() => upstream.close());
  const clock = fakeClock(Date.now());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', ttlMs: 10_000 }] }], {
      database: { url: schemaDb.url! },
      audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
    }),
    { now: clock.now },
  );
  const ids: Record<string, string> = {};
  ids['miss'] = String((await proxy.fetch('/api/items/1')).headers['x-request-id']);
  clock.advance(20_000);
  const revalidated = await proxy.fetch('/api/items/1');
  t.equal(revalidated.headers['x-cache'], 'REVALIDATED');
  ids['revalidated'] = String(revalidated.headers['x-request-id']);
  clock.advance(20_000);
  failing = true;
  const stale = await proxy.fetch('/api/items/1');
  t.equal(stale.headers['x-cache'], 'STALE');
  ids['stale'] = String(stale.headers['x-request-id']);

  await waitFor(t, 'three audit rows', async () => {
    const { rows } = await schemaDb.query<{ n: string }>('SELECT count(*) AS n FROM audit_logs WHERE request_id = ANY($1)', [Object.values(ids)]);
    return Number(rows[0]!.n) === 3;
  });
  const { rows } = await schemaDb.query<{ request_id: string; cache_outcome: string; status: number }>(
    'SELECT request_id, cache_outcome, status FROM audit_logs WHERE request_id = ANY($1)',
    [Object.values(ids)],
  );
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  t.equal(byId.get(ids['miss']!)?.cache_outcome, 'MISS');
  t.equal(byId.get(ids['revalidated']!)?.cache_outcome, 'REVALIDATED');
  t.equal(byId.get(ids['stale']!)?.cache_outcome, 'STALE');
  t.equal(byId.get(ids['stale']!)?.status, 200, 'the client got the stale 200, not the 503');
});
