import t from 'tap';
import { loadConfig } from '../../../src/config/load.js';
import { startProxy } from '../../helpers/app.js';
import { fakeClock } from '../../helpers/clock.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

t.test('API mode is unchanged: a rule with its own ttl (5m) caches a Cache-Control: no-cache response for 5 minutes', async (t) => {
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  let n = 0;
  const origin = await startFakeUpstream((_req, res) => {
    n += 1;
    res.sendDate = false;
    res.writeHead(200, { date: new Date(clock.now()).toUTCString(), 'cache-control': 'no-cache', 'content-type': 'text/plain' });
    res.end(`#${n}`);
  });
  t.teardown(() => origin.close());
  const dir = t.testdir({
    'proxy.config.yaml': `upstreams:
  - name: origin
    prefix: /
    target: ${origin.url}
    rules:
      - name: everything
        methods: [GET, HEAD]
        path: /*
        scope: shared
        ttl: 5m
`,
  });
  const { config } = loadConfig({ path: `${dir}/proxy.config.yaml`, env: {} });
  const proxy = await startProxy(t, { ...testConfig([]), upstreams: config.upstreams }, { clock });

  t.equal((await proxy.fetch('/salesforce-style')).body.toString(), '#1');
  await new Promise((resolve) => setTimeout(resolve, 3));
  clock.advance(5 * 60_000 - 1_000);
  const hit = await proxy.fetch('/salesforce-style');
  t.equal(hit.body.toString(), '#1', 'served from the cache for the rule’s ttl despite no-cache');
  t.equal(n, 1, 'the origin was asked once');
  clock.advance(1_000);
  const after = await proxy.fetch('/salesforce-style');
  t.equal(after.body.toString(), '#2', 'the ttl has run out at 5 minutes');
  t.equal(n, 2);
});
