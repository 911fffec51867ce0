import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, rawExchange } from './raw-http.js';

// Issue 11, "Path forms": each of these was forwarded verbatim; now each is refused before any
// upstream call, on the cacheable route and the pass-through route alike.
t.test('a leading "//" below the prefix and hidden dot-segments are refused with ambiguous_path', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ name: 'salesforce', prefix: '/salesforce', target: upstream.url, rules: [{ path: '/*' }] }], { audit: { enabled: false } }),
  );
  const port = (proxy.app.server.address() as AddressInfo).port;
  const targets = [
    `/salesforce//127.0.0.1:${upstream.port}/x`,
    '/salesforce/%2f%2fevil.example/x',
    '/salesforce/a/%252e%252e/b',
    '/salesforce/%252e%252e/%252e%252e/x',
    '/salesforce/a/..;/b',
    '/salesforce/..;/x',
    '/salesforce/a/.;jsessionid=1/b',
  ];
  for (const method of ['GET', 'POST']) {
    for (const target of targets) {
      const response = await rawExchange(port, head(`${method} ${target} HTTP/1.1`, 'Host: sidecache', 'Content-Length: 0', 'Connection: close'));
      t.equal(response.status, 400, `${method} ${target}: 400`);
      t.equal((response.json() as { error: string }).error, 'ambiguous_path', `${method} ${target}: ambiguous_path`);
    }
  }
  t.equal(upstream.received.length, 0, 'nothing reached the upstream');

  const fine = await rawExchange(port, head('GET /salesforce/a;v=1/b//c HTTP/1.1', 'Host: sidecache', 'Connection: close'));
  t.equal(fine.status, 200, 'matrix parameters on ordinary segments and inner "//" still go through');
  t.same(upstream.received.map((r) => r.url), ['/a;v=1/b//c']);
});
