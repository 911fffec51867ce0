import t from 'tap';
import { loadConfig } from '../../../src/config/load.js';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

t.test('CACHE_TTL_DEFAULT=2: the Salesforce query and record rules expire in 2 s; an override by name wins', async (t) => {
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url }));
  });
  t.teardown(() => upstream.close());
  const dir = t.testdir({
    'proxy.config.yaml': JSON.stringify({
      upstreams: [
        { name: 'salesforce', prefix: '/salesforce', target: upstream.url, preset: 'salesforce', overrides: { 'salesforce.sobject-describe': { ttl: '3s' } } },
      ],
    }),
  });
  const { config } = loadConfig({ path: `${dir}/proxy.config.yaml`, env: { CACHE_TTL_DEFAULT: '2', CACHE_TTL_LONG: '1h' } });
  const clock = fakeClock(Date.now());
  const proxy = await startProxy(t, { ...testConfig([]), upstreams: config.upstreams }, { clock });
  const auth = { authorization: 'Bearer token' };
  const paths = [
    '/salesforce/services/data/v60.0/query?q=SELECT+Id+FROM+Account',
    '/salesforce/services/data/v60.0/sobjects/Account/001000000000001AAA',
    '/salesforce/services/data/v60.0/sobjects/Account/describe',
  ];
  for (const path of paths) t.equal((await proxy.fetch(path, { headers: auth })).headers['x-cache'], 'MISS', path);
  clock.advance(1_999);
  for (const path of paths) t.equal((await proxy.fetch(path, { headers: auth })).headers['x-cache'], 'HIT', `${path} at 1.999 s`);
  clock.advance(1);
  const [query, record, describe] = await Promise.all(paths.map((path) => proxy.fetch(path, { headers: auth })));
  t.equal(query!.headers['x-cache'], 'STALE', 'the query is past its ttl at 2 s (refreshed in the background)');
  t.equal(record!.headers['x-cache'], 'STALE', 'the record too');
  t.equal(describe!.headers['x-cache'], 'HIT', 'the describe override (3 s) holds');
  clock.advance(1_000);
  t.equal((await proxy.fetch(paths[2]!, { headers: auth })).headers['x-cache'], 'STALE', 'and ends at 3 s');
});
