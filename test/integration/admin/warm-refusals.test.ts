import t from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

// Issue 11: `/admin/warm` with a CR/LF header value was refused by undici, and that refusal opened
// the Jira breaker for everyone (and, as found here, kept one pool connection per refusal).
t.test('warm refuses unsendable requests up front; a request sidecache cannot send never blames the upstream', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = testConfig([{ name: 'jira', prefix: '/jira', target: upstream.url, rules: [{ path: '/rest/api/3/issue/:key' }] }]);
  const proxy = await startProxy(t, config);
  const admin = buildAdminApp({ token: TEST_ADMIN_TOKEN, db: null, logger: false, warm: { proxy: proxy.app, upstreams: config.upstreams } });
  t.teardown(() => admin.close());
  const warm = (requests: unknown[]) =>
    adminInject(admin, { method: 'POST', url: '/admin/warm', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ requests }) });

  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ headers: { 'x-trace': 'a\r\nx-injected: 1' } }, /^requests\[1\]\.headers\.x-trace: must not contain CR or LF/],
    [{ headers: { 'x-trace': 'a\nb' } }, /^requests\[1\]\.headers\.x-trace: must not contain CR or LF/],
    [{ headers: { 'x-trace': 'a\u0000b' } }, /^requests\[1\]\.headers\.x-trace: must not contain control characters \(U\+0000 at 1\)/],
    [{ headers: { 'x-trace': 'caf\u00e9 \u2603' } }, /^requests\[1\]\.headers\.x-trace: must not contain characters above U\+00FF \(U\+2603 at 5\)/],
    [{ path: '//127.0.0.1:1/x' }, /^requests\[1\]\.path: must not start with "\/\/"/],
    [{ path: '/\\127.0.0.1:1/x' }, /^requests\[1\]\.path: must not start with "\/\/"/],
  ];
  for (const [change, message] of refused) {
    const response = await warm([{ upstream: 'jira', path: '/rest/api/3/issue/OK-1' }, { upstream: 'jira', path: '/rest/api/3/issue/PROJ-1', ...change }]);
    t.equal(response.statusCode, 400, `${JSON.stringify(change)}: 400`);
    t.equal(response.json().error, 'invalid_request');
    t.match(response.json().message, message, response.json().message);
  }
  t.equal(upstream.received.length, 0, 'a refused warm call fetches nothing, not even its valid requests');
  const fine = await warm([{ upstream: 'jira', path: '/rest/api/3/issue/PROJ-1', headers: { 'x-trace': 'caf\u00e9\tok' } }]);
  t.equal(fine.json().summary.ok, 1, 'tabs and Latin-1 text are sendable');

  // Past the warm route's checks (inject straight into the proxy): 60 unsendable requests, more
  // than the breaker's minimumCalls and than the pool's 16 connections.
  for (let i = 0; i < 60; i++) {
    // Alternately a pass-through (every header forwarded) and a cached read (its credential forwarded).
    const response = await proxy.app.inject(
      i % 2 === 0 ? { url: `/jira/rest/api/3/other/${i}`, headers: { 'x-trace': 'a\r\nb' } } : { url: `/jira/rest/api/3/issue/BAD-${i}`, headers: { authorization: 'Bearer a\r\nb' } },
    );
    if (response.statusCode !== 400 || response.json().error !== 'request_not_forwardable') {
      t.fail(`unsendable request ${i}: ${response.statusCode} ${response.body}`);
      break;
    }
  }
  const [, guard] = [...proxy.health.upstreamGuards!()][0]!;
  t.match(guard, { breakerState: 'closed', breakerOpens: 0, inFlight: 0 }, 'the breaker never heard of them');
  const after = await proxy.fetch('/jira/rest/api/3/issue/PROJ-2');
  t.equal(after.status, 200, 'the next caller is served: no breaker opened, no pool connection held');
});
