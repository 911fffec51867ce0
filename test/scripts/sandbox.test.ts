import t from 'tap';
import { etagOf, jiraHandler, salesforceHandler, startSandbox } from '../../scripts/sandbox.js';

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
