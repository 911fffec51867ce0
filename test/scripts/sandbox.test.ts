import t from 'tap';
import { etagOf, jiraHandler, salesforceHandler, startSandbox, type SandboxChange } from '../../scripts/sandbox.js';
import { startProxy } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { shippedUpstream } from '../integration/hooks/fixtures.js';

const SF = '/services/data/v60.0';

t.test('pure handlers are deterministic', async (t) => {
  const get = (path: string) => ({ method: 'GET', path, query: new URLSearchParams(), body: '' });
  t.same(salesforceHandler()(get(`${SF}/sobjects/Account/001000000000001`)), salesforceHandler()(get(`${SF}/sobjects/Account/001000000000001`)));
  t.same(jiraHandler()(get('/rest/api/3/issue/DEMO-7')), jiraHandler()(get('/rest/api/3/issue/DEMO-7')));
  t.equal(etagOf('{}'), etagOf('{}'));
  t.not(etagOf('{}'), etagOf('[]'));
});

t.test('salesforce sandbox', async (t) => {
  const sandbox = await startSandbox({ salesforceDelayMs: 0, jiraDelayMs: 0 });
  t.teardown(() => sandbox.close());
  const url = `${sandbox.salesforceUrl}${SF}/sobjects/Account/001000000000001`;

  const first = await fetch(url);
  t.equal(first.status, 200);
  t.equal(first.headers.get('cache-control'), 'no-cache,must-revalidate,max-age=0,no-store,private');
  t.equal(first.headers.get('content-type'), 'application/json;charset=UTF-8');
  const text = await first.text();
  t.equal(first.headers.get('etag'), etagOf(text));
  const record = JSON.parse(text) as Record<string, unknown>;
  t.equal(record['Id'], '001000000000001');
  t.match(record, { Name: String, LastModifiedDate: String, attributes: { type: 'Account' } });
  t.same(sandbox.counts(), { salesforce: 1, jira: 0 });

  const again = await fetch(url);
  t.equal(await again.text(), text, 'same body twice');
  const notModified = await fetch(url, { headers: { 'if-none-match': first.headers.get('etag') ?? '' } });
  t.equal(notModified.status, 304);

  const missing = await fetch(`${sandbox.salesforceUrl}${SF}/sobjects/Account/000000000000001`);
  t.equal(missing.status, 404);
  t.match(await missing.json(), [{ errorCode: 'NOT_FOUND', message: String }]);

  const patch = await fetch(url, { method: 'PATCH', body: JSON.stringify({ Name: 'Renamed' }), headers: { 'content-type': 'application/json' } });
  t.equal(patch.status, 204);
  const updated = await fetch(url);
  const after = (await updated.json()) as Record<string, unknown>;
  t.equal(after['Name'], 'Renamed');
  t.not(after['LastModifiedDate'], record['LastModifiedDate']);
  t.not(updated.headers.get('etag'), first.headers.get('etag'));

  const query = await fetch(`${sandbox.salesforceUrl}${SF}/query?q=${encodeURIComponent('SELECT Id, Name FROM Contact LIMIT 3')}`);
  t.match(await query.json(), { totalSize: 3, done: true, records: [{ attributes: { type: 'Contact' } }, {}, {}] });
  t.equal((await fetch(`${sandbox.salesforceUrl}${SF}/limits`)).status, 200);
  t.match(await (await fetch(`${sandbox.salesforceUrl}${SF}/sobjects/Account/describe`)).json(), { name: 'Account', fields: Array });
  t.equal(sandbox.counts().salesforce, 9, 'every request counted');
});

t.test('jira sandbox', async (t) => {
  const sandbox = await startSandbox({ salesforceDelayMs: 0, jiraDelayMs: 0 });
  t.teardown(() => sandbox.close());
  const url = `${sandbox.jiraUrl}/rest/api/3/issue/DEMO-1`;

  const issue = await fetch(url);
  t.equal(issue.status, 200);
  t.match(await issue.json(), { key: 'DEMO-1', fields: { summary: String, status: { name: String } } });
  t.equal((await fetch(`${sandbox.jiraUrl}/rest/api/3/issue/DEMO-0`)).status, 404);

  const put = await fetch(url, { method: 'PUT', body: JSON.stringify({ fields: { summary: 'New summary' } }) });
  t.equal(put.status, 204);
  t.match(await (await fetch(url)).json(), { fields: { summary: 'New summary' } });

  const page1 = (await (await fetch(`${sandbox.jiraUrl}/rest/api/3/search/jql?jql=project%3DOPS&maxResults=50`)).json()) as { issues: { key: string }[]; nextPageToken?: string };
  t.equal(page1.issues.length, 50);
  t.equal(page1.issues[0]?.key, 'OPS-1');
  t.type(page1.nextPageToken, 'string');
  const page2 = await fetch(`${sandbox.jiraUrl}/rest/api/3/search/jql`, {
    method: 'POST',
    body: JSON.stringify({ jql: 'project = OPS', maxResults: 50, nextPageToken: page1.nextPageToken }),
  });
  const body2 = (await page2.json()) as { issues: unknown[]; nextPageToken?: string };
  t.equal(body2.issues.length, 10);
  t.equal(body2.nextPageToken, undefined, 'last page has no token');

  for (const path of ['field', 'project', 'status', 'priority']) {
    const res = await fetch(`${sandbox.jiraUrl}/rest/api/3/${path}`);
    t.equal(res.status, 200, path);
    t.ok(Array.isArray(await res.json()), `${path} is an array`);
  }
  t.same(sandbox.counts(), { salesforce: 0, jira: 10 });
});

t.test('delay applies per upstream', async (t) => {
  const sandbox = await startSandbox({ salesforceDelayMs: 0, jiraDelayMs: 80 });
  t.teardown(() => sandbox.close());
  const started = performance.now();
  await (await fetch(`${sandbox.jiraUrl}/rest/api/3/status`)).arrayBuffer();
  t.ok(performance.now() - started >= 70, 'jira answer waited for its delay');
});

t.test('an edit made in the sandbox reaches sidecache as the signed event its feed accepts; the next read is a fresh MISS', async (t) => {
  const secrets = { jira: 'sandbox-test-jira-secret', salesforce: 'sandbox-test-sf-secret' };
  const sandbox = await startSandbox({ salesforceDelayMs: 0, jiraDelayMs: 0 });
  t.teardown(() => sandbox.close());
  // The shipped presets and the demo's feeds: what `npm run demo` starts, in-process.
  const proxy = await startProxy(
    t,
    testConfig([shippedUpstream('salesforce', sandbox.salesforceUrl), shippedUpstream('jira', sandbox.jiraUrl)], {
      hooks: { jira: { secret: secrets.jira, upstream: 'jira' }, salesforce: { secret: secrets.salesforce, organizationId: null, upstream: 'salesforce' } },
    }),
  );
  sandbox.announceTo({ sidecacheUrl: proxy.url, jiraSecret: secrets.jira, salesforceSecret: secrets.salesforce });
  const read = async (path: string) => {
    const res = await proxy.fetch(path, { headers: { authorization: 'Bearer sandbox-test' } });
    t.equal(res.status, 200, `GET ${path}`);
    return { cache: res.headers['x-cache'], body: res.json() as Record<string, unknown> };
  };

  const account = `/salesforce${SF}/sobjects/Account/001000000000001`;
  await read(account);
  t.match(await read(account), { cache: 'HIT', body: { Name: 'Account 0001' } });
  // The control route, as the demo's guide shows it with curl: no content-type, the fake's answer says what sidecache did.
  const edited = await fetch(`${sandbox.salesforceUrl}/__sandbox/sobjects/Account/001000000000001`, { method: 'PATCH', body: JSON.stringify({ Name: 'Edited in Salesforce' }) });
  t.equal(edited.status, 200);
  const change = (await edited.json()) as SandboxChange;
  t.match(change, { record: { Id: '001000000000001', Name: 'Edited in Salesforce' }, delivery: { url: `${proxy.url}/hooks/salesforce/cdc`, status: 200 } });
  t.same(JSON.parse(change.delivery!.body), { invalidated: { epochs: ['tag:sf:account:001000000000001', 'tag:sf:query:account', 'tag:sf:query-pages'], keysDeleted: 0, propagated: true } });
  t.match(await read(account), { cache: 'MISS', body: { Name: 'Edited in Salesforce' } }, 'a fresh read after the change event');

  const issue = '/jira/rest/api/3/issue/DEMO-1';
  await read(issue);
  t.match(await read(issue), { cache: 'HIT', body: { fields: { summary: 'DEMO task number 1' } } });
  const jiraChange = await sandbox.changeIssue('DEMO-1', 'Edited in Jira');
  t.match(jiraChange, { record: { key: 'DEMO-1', fields: { summary: 'Edited in Jira' } }, delivery: { url: `${proxy.url}/hooks/jira`, status: 200 } });
  t.match(JSON.parse(jiraChange.delivery!.body), { invalidated: { epochs: ['tag:jira:issue:demo-1', 'tag:jira:search', 'tag:jira:issue:10001'] } });
  t.match(await read(issue), { cache: 'MISS', body: { fields: { summary: 'Edited in Jira' } } }, 'a fresh read after the webhook');

  t.same(sandbox.counts(), { salesforce: 2, jira: 2 }, 'the control routes are not counted as API calls');
  t.same(await proxy.metrics.scrape().then((text) => text.split('\n').filter((line) => line.startsWith('sidecache_hook_deliveries_total{')).sort()), [
    'sidecache_hook_deliveries_total{source="jira",outcome="invalidated"} 1',
    'sidecache_hook_deliveries_total{source="salesforce-cdc",outcome="invalidated"} 1',
  ]);
});

t.test('a sandbox signing with another secret: the edit is made, sidecache refuses the event and keeps its entry', async (t) => {
  const sandbox = await startSandbox({ salesforceDelayMs: 0, jiraDelayMs: 0 });
  t.teardown(() => sandbox.close());
  const proxy = await startProxy(t, testConfig([shippedUpstream('jira', sandbox.jiraUrl)], { hooks: { jira: { secret: 'the-right-secret', upstream: 'jira' } } }));
  sandbox.announceTo({ sidecacheUrl: proxy.url, jiraSecret: 'a-wrong-secret' });
  const read = async () => (await proxy.fetch('/jira/rest/api/3/issue/DEMO-2', { headers: { authorization: 'Bearer sandbox-test' } })).headers['x-cache'];
  await read();
  const change = await sandbox.changeIssue('DEMO-2', 'Edited in Jira');
  t.equal(change.delivery?.status, 401);
  t.match(JSON.parse(change.delivery!.body), { error: 'unauthorized' });
  t.equal(await read(), 'HIT', 'nothing invalidated');
  t.match(await (await fetch(`${sandbox.jiraUrl}/rest/api/3/issue/DEMO-2`)).json(), { fields: { summary: 'Edited in Jira' } }, 'the fake serves the edit');

  sandbox.announceTo(undefined);
  t.equal((await sandbox.changeRecord('Account', '001000000000002', { Name: 'x' })).delivery, null, 'no hooks: the data changes, nothing is sent');
  const bad = await fetch(`${sandbox.salesforceUrl}/__sandbox/sobjects/Account/12`, { method: 'PATCH', body: '{"Name":"x"}' });
  t.equal(bad.status, 400);
  const wrongMethod = await fetch(`${sandbox.jiraUrl}/__sandbox/issue/DEMO-2`, { method: 'POST', body: '{}' });
  t.equal(wrongMethod.status, 404);
});
