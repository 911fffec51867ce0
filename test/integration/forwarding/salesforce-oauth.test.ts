import type { IncomingMessage, ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import jsforce from 'jsforce';
import { loadConfig } from '../../../src/config/load.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

const SOQL = 'SELECT Id, Name FROM Account';
const ACCESS = '00D000000000001!access-token-secret';
const REFRESH = '5Aep-refresh-token-secret';

/**
 * A fake Salesforce: its token endpoint names a foreign `instance_url` (another pod, which refuses
 * and records every call) and answers queries for the fresh access token only.
 */
async function fakeSalesforce(t: Test): Promise<{ salesforce: FakeUpstream; foreign: FakeUpstream }> {
  const foreign = await startFakeUpstream((_req, res) => {
    res.statusCode = 421;
    res.end('calls must go through sidecache');
  });
  const salesforce = await startFakeUpstream((req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    res.setHeader('content-type', 'application/json');
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/services/oauth2/token') {
      const form = new URLSearchParams(body.toString());
      const granted = form.get('grant_type') === 'authorization_code' ? form.get('code') === 'the-code' : form.get('refresh_token') === REFRESH;
      if (!granted) {
        res.statusCode = 400;
        return void res.end('{"error":"invalid_grant","error_description":"authentication failure"}');
      }
      return void res.end(
        JSON.stringify({
          access_token: ACCESS,
          ...(form.get('grant_type') === 'authorization_code' && { refresh_token: REFRESH }),
          instance_url: foreign.url,
          id: `${foreign.url}/id/00D000000000001AAA/005000000000001AAA`,
          token_type: 'Bearer',
          issued_at: '1700000000000',
          signature: 'c2lnbmF0dXJl',
        }),
      );
    }
    if (req.headers.authorization !== `Bearer ${ACCESS}`) {
      res.statusCode = 401;
      return void res.end('[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]');
    }
    if (/^\/services\/data\/v[\d.]+\/query$/.test(url.pathname) && url.searchParams.get('q') === SOQL) {
      res.setHeader('sforce-limit-info', 'api-usage=12/15000');
      return void res.end(JSON.stringify({ totalSize: 1, done: true, records: [{ attributes: { type: 'Account' }, Id: '001000000000001AAA', Name: 'Acme' }] }));
    }
    res.statusCode = 404;
    res.end('[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]');
  });
  t.teardown(() => Promise.all([salesforce.close(), foreign.close()]));
  return { salesforce, foreign };
}

/** The shipped Salesforce preset over the fake, loaded as an operator would. */
function salesforceConfig(t: Test, target: string, extra: Record<string, unknown> = {}) {
  const dir = t.testdir({
    'proxy.config.yaml': JSON.stringify({ upstreams: [{ name: 'salesforce', prefix: '/salesforce', target, preset: 'salesforce', ...extra }] }),
  });
  const { config } = loadConfig({ path: `${dir}/proxy.config.yaml`, env: {} });
  return { ...testConfig([]), upstreams: config.upstreams };
}

function logCapture() {
  const lines: string[] = [];
  return { logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } }, text: () => lines.join('') };
}

t.test('jsforce OAuth2 web-server flow, then a query: every call stays on the proxy', async (t) => {
  const { salesforce, foreign } = await fakeSalesforce(t);
  const log = logCapture();
  const proxy = await startProxy(t, salesforceConfig(t, salesforce.url), { logger: log.logger });
  const oauth2 = new jsforce.OAuth2({ loginUrl: `${proxy.url}/salesforce`, clientId: 'client-id', clientSecret: 'client-secret', redirectUri: 'http://localhost/cb' });
  const conn = new jsforce.Connection({ oauth2, version: '60.0' });
  const userInfo = await conn.authorize('the-code');
  t.equal(conn.instanceUrl, `${proxy.url}/salesforce`, 'instance_url is the proxy');
  t.same(userInfo, { id: '005000000000001AAA', organizationId: '00D000000000001AAA', url: `${proxy.url}/salesforce/id/00D000000000001AAA/005000000000001AAA` });
  const result = await conn.query<{ Name: string }>(SOQL);
  t.equal(result.records[0]?.Name, 'Acme');
  t.equal(foreign.received.length, 0, 'the foreign instance was never called');
  t.same(salesforce.received.map((r) => r.url.split('?')[0]), ['/services/oauth2/token', '/services/data/v60.0/query']);
  const again = await proxy.fetch(`/salesforce/services/data/v60.0/query?q=${encodeURIComponent(SOQL)}`, { headers: { authorization: `Bearer ${ACCESS}` } });
  t.equal(again.headers['x-cache'], 'HIT', 'the query is cached as usual');
  t.notMatch(log.text(), /access-token-secret|refresh-token-secret|client-secret|the-code/, 'no token, secret or code reaches the log');
  t.match(log.text(), /instance_url http:\/\/127\.0\.0\.1:\d+, not the configured target/, 'the foreign instance is logged (its origin only)');
});

t.test('jsforce refresh-token flow: an expired session is renewed through the proxy', async (t) => {
  const { salesforce, foreign } = await fakeSalesforce(t);
  const proxy = await startProxy(t, salesforceConfig(t, salesforce.url));
  const oauth2 = new jsforce.OAuth2({ loginUrl: `${proxy.url}/salesforce`, clientId: 'client-id', clientSecret: 'client-secret', redirectUri: 'http://localhost/cb' });
  const conn = new jsforce.Connection({ oauth2, version: '60.0', instanceUrl: `${proxy.url}/salesforce`, accessToken: 'expired', refreshToken: REFRESH });
  const result = await conn.query<{ Name: string }>(SOQL);
  t.equal(result.records[0]?.Name, 'Acme');
  t.equal(conn.instanceUrl, `${proxy.url}/salesforce`);
  t.equal(conn.accessToken, ACCESS);
  t.equal(foreign.received.length, 0);
  t.same(salesforce.received.map((r) => r.url.split('?')[0]), ['/services/data/v60.0/query', '/services/oauth2/token', '/services/data/v60.0/query']);
});

t.test('token answers are never cached, and the fake refuses what skips the prefix', async (t) => {
  const { salesforce } = await fakeSalesforce(t);
  const proxy = await startProxy(t, salesforceConfig(t, salesforce.url));
  const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${REFRESH}` };
  for (let i = 0; i < 2; i++) {
    const token = await proxy.fetch('/salesforce/services/oauth2/token', form);
    t.equal(token.status, 200);
    t.equal(token.headers['x-cache'], 'BYPASS');
    t.equal(token.headers['cache-status'], 'sidecache; fwd=bypass; detail=oauth');
    t.equal(token.headers['cache-control'], 'no-store');
    t.equal(token.headers['content-length'], String(token.body.length));
    t.equal((token.json() as { instance_url: string }).instance_url, `${proxy.url}/salesforce`);
  }
  t.equal(salesforce.received.length, 2, 'each token request reached the upstream');
  t.equal(salesforce.received[0]?.headers['accept-encoding'], 'identity', 'asked uncompressed, so it can be rewritten');
  t.equal((await proxy.fetch('/services/data/v60.0/query?q=x')).status, 404, 'no prefix: refused by the proxy (no_upstream)');
  const failed = await proxy.fetch('/salesforce/services/oauth2/token', { ...form, body: 'grant_type=refresh_token&refresh_token=wrong' });
  t.equal(failed.status, 400);
  t.same(failed.json(), { error: 'invalid_grant', error_description: 'authentication failure' }, 'an error answer passes unchanged');
});

t.test('the public URL: configured, else Host; X-Forwarded-* only from trusted proxies', async (t) => {
  const { salesforce } = await fakeSalesforce(t);
  const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${REFRESH}` };
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'sidecache.example.com' };
  const instanceUrl = async (proxy: Awaited<ReturnType<typeof startProxy>>, headers: Record<string, string> = {}) =>
    ((await proxy.fetch('/salesforce/services/oauth2/token', { ...form, headers: { ...form.headers, ...headers } })).json() as { instance_url: string }).instance_url;

  const configured = await startProxy(t, salesforceConfig(t, salesforce.url, { publicUrl: 'https://sidecache.internal/salesforce/' }));
  t.equal(await instanceUrl(configured, forwarded), 'https://sidecache.internal/salesforce');

  const untrusted = await startProxy(t, salesforceConfig(t, salesforce.url));
  t.equal(await instanceUrl(untrusted, forwarded), `${untrusted.url}/salesforce`, 'forwarded headers are ignored without trusted proxies');
  t.equal(await instanceUrl(untrusted, { host: 'app.internal:8080' }), 'http://app.internal:8080/salesforce');

  const base = salesforceConfig(t, salesforce.url);
  const trusted = await startProxy(t, { ...base, audit: { ...base.audit, trustedProxies: ['127.0.0.1'] } });
  t.equal(await instanceUrl(trusted, forwarded), 'https://sidecache.example.com/salesforce', 'behind a trusted proxy: its scheme and host');
});
