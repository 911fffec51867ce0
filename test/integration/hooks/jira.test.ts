import t from 'tap';
import { fakeJira, freshAfter, deliveries, hookRows, outcomes, Records, SECRET, shippedUpstream, signed, startPair, warm } from './fixtures.js';

const ISSUE = '/jira/rest/api/3/issue/PROJ-1';
const ISSUE_BY_ID = '/jira/rest/api/3/issue/10001';
const OTHER_ISSUE = '/jira/rest/api/3/issue/PROJ-2';
const SEARCH = '/jira/rest/api/3/search/jql?jql=project%3DPROJ';
const FIELDS = '/jira/rest/api/3/field';

const updated = (key: string, id: string) =>
  JSON.stringify({ timestamp: Date.now(), webhookEvent: 'jira:issue_updated', issue_event_type_name: 'issue_generic', issue: { id, key, fields: { summary: 'New' } } });

t.test('a Jira webhook drops the issue (by key and by id) and searches on both instances; nothing else', async (t) => {
  const records = new Records();
  const jira = await fakeJira(records);
  t.teardown(() => jira.close());
  const pair = await startPair(t, [shippedUpstream('jira', jira.url)], { jira: { secret: SECRET, upstream: 'jira' } });
  if (pair === null) return;
  const { a, b, db } = pair;
  const both = [a, b];
  await warm(both, [ISSUE, ISSUE_BY_ID, OTHER_ISSUE, SEARCH, FIELDS]);

  // Someone edits PROJ-1 in Jira itself; Jira calls the webhook on instance A.
  records.change('issue/PROJ-1');
  const body = updated('PROJ-1', '10001');
  const sentAt = Date.now();
  const delivered = await a.fetch('/hooks/jira', { method: 'POST', headers: { ...signed(body, 'x-hub-signature'), 'x-atlassian-webhook-identifier': 'wh-1' }, body });
  const deliveredAt = Date.now();
  t.equal(delivered.status, 200, `answered in ${deliveredAt - sentAt} ms (invalidated here, persisted and announced)`);
  t.equal((delivered.json() as { invalidated: { propagated: boolean } }).invalidated.propagated, true);

  const [byKey, byId, search] = await Promise.all([
    freshAfter(both, ISSUE, (issue) => issue['version'] === 2, deliveredAt),
    freshAfter(both, ISSUE_BY_ID, (issue) => issue['version'] === 2, deliveredAt),
    freshAfter(both, SEARCH, (result) => result['stamp'] === 1, deliveredAt),
  ]);
  t.ok(byKey >= 0 && byKey <= 100, `the issue by key is fresh on both instances ${byKey} ms after the delivery`);
  t.ok(byId >= 0 && byId <= 100, `the issue by id is fresh on both instances ${byId} ms after the delivery`);
  t.ok(search >= 0 && search <= 100, `searches are fresh on both instances ${search} ms after the delivery`);
  t.same(await outcomes(both, [OTHER_ISSUE, FIELDS]), { [OTHER_ISSUE]: ['HIT', 'HIT'], [FIELDS]: ['HIT', 'HIT'] }, 'other issues and field metadata are still cached');

  // Jira retries the same delivery (same identifier), here on the other instance: applied and counted once.
  records.change('issue/PROJ-2');
  const retried = await b.fetch('/hooks/jira', { method: 'POST', headers: { ...signed(body, 'x-hub-signature'), 'x-atlassian-webhook-identifier': 'wh-1' }, body });
  t.equal(retried.status, 200);
  t.same(retried.json(), { duplicate: true });
  t.equal(a.invalidator.counts.hook + b.invalidator.counts.hook, 1, 'one invalidation for the two deliveries');
  t.same(await deliveries(a), { 'jira/invalidated': 1 });
  t.same(await deliveries(b), { 'jira/duplicate': 1 });
  t.same(await outcomes(both, [SEARCH]), { [SEARCH]: ['HIT', 'HIT'] }, 'the repeat invalidated nothing');

  const rows = await hookRows(db, 2);
  t.same(rows.map((row) => [row.action, row.status, row.path, row.query, row.resource_type, row.resource_id]), [
    ['hook.jira', 200, '/hooks/jira', null, 'issue', 'PROJ-1,10001'],
    ['hook.jira', 200, '/hooks/jira', null, 'issue', 'PROJ-1,10001'],
  ]);
  t.notOk(rows.some((row) => row.as_text.includes(SECRET) || row.as_text.includes('sha256=')), 'no secret or signature in the rows');
});

t.test('worklog events (issue id only) drop every cached issue read; metadata stays', async (t) => {
  const records = new Records();
  const jira = await fakeJira(records);
  t.teardown(() => jira.close());
  const pair = await startPair(t, [shippedUpstream('jira', jira.url)], { jira: { secret: SECRET, upstream: 'jira' } });
  if (pair === null) return;
  const both = [pair.a, pair.b];
  await warm(both, [ISSUE, OTHER_ISSUE, FIELDS]);
  records.change('issue/PROJ-1');
  const body = JSON.stringify({ timestamp: Date.now(), webhookEvent: 'worklog_created', worklog: { id: '1', issueId: '10001', timeSpent: '1h' } });
  t.equal((await pair.b.fetch('/hooks/jira', { method: 'POST', headers: signed(body, 'x-hub-signature'), body })).status, 200);
  const fresh = await freshAfter(both, ISSUE, (issue) => issue['version'] === 2, Date.now());
  t.ok(fresh >= 0 && fresh <= 100, `the issue by key is fresh on both instances ${fresh} ms after the delivery`);
  t.same(await outcomes(both, [FIELDS]), { [FIELDS]: ['HIT', 'HIT'] });
});

t.test('a bad signature, a malformed body or an oversized one changes nothing, each audited and counted', async (t) => {
  const records = new Records();
  const jira = await fakeJira(records);
  t.teardown(() => jira.close());
  const pair = await startPair(t, [shippedUpstream('jira', jira.url)], { jira: { secret: SECRET, upstream: 'jira' }, maxBodyBytes: 4096 });
  if (pair === null) return;
  const { a, b, db } = pair;
  await warm([a, b], [ISSUE, SEARCH]);
  const body = updated('PROJ-1', '10001');
  const post = (headers: Record<string, string>, payload: string) => a.fetch('/hooks/jira', { method: 'POST', headers, body: payload });

  const unsigned = await post({ 'content-type': 'application/json' }, body);
  t.equal(unsigned.status, 401);
  t.match(unsigned.json(), { error: 'unauthorized', message: /X-Hub-Signature is missing or is not sha256=/ });
  t.equal((await post(signed(body, 'x-hub-signature', 'another-secret'), body)).status, 401, 'signed with another secret');
  t.equal((await post(signed(body, 'x-hub-signature'), body.replace('New', 'Old'))).status, 401, 'a body changed after signing');

  const notJson = '{"webhookEvent": ';
  const malformed = await post(signed(notJson, 'x-hub-signature'), notJson);
  t.equal(malformed.status, 400);
  t.match(malformed.json(), { error: 'invalid_request', message: /^body: not valid JSON/ });
  const noIssue = JSON.stringify({ webhookEvent: 'jira:issue_updated' });
  t.match((await post(signed(noIssue, 'x-hub-signature'), noIssue)).json(), { message: /^issue\.key or issue\.id: missing/ });

  const huge = JSON.stringify({ webhookEvent: 'jira:issue_updated', issue: { key: 'PROJ-1' }, pad: 'x'.repeat(5000) });
  const tooLarge = await post(signed(huge, 'x-hub-signature'), huge);
  t.equal(tooLarge.status, 413);
  t.match(tooLarge.json(), { error: 'request_body_too_large' });

  t.same(await outcomes([a, b], [ISSUE, SEARCH]), { [ISSUE]: ['HIT', 'HIT'], [SEARCH]: ['HIT', 'HIT'] }, 'nothing was invalidated');
  t.equal(a.invalidator.counts.hook, 0);
  t.same(await deliveries(a), { 'jira/unauthorized': 3, 'jira/malformed': 2, 'jira/too_large': 1 });
  const rows = await hookRows(db, 6);
  t.same(rows.map((row) => [row.action, row.status, row.error_code]).sort(), [
    ['hook.jira', 400, 'invalid_request'],
    ['hook.jira', 400, 'invalid_request'],
    ['hook.jira', 401, 'unauthorized'],
    ['hook.jira', 401, 'unauthorized'],
    ['hook.jira', 401, 'unauthorized'],
    ['hook.jira', 413, 'request_body_too_large'],
  ]);
});

t.test('events sidecache does not act on, and issues nobody cached, still get a 2xx', async (t) => {
  const records = new Records();
  const jira = await fakeJira(records);
  t.teardown(() => jira.close());
  const pair = await startPair(t, [shippedUpstream('jira', jira.url)], { jira: { secret: SECRET, upstream: 'jira' } });
  if (pair === null) return;
  const project = JSON.stringify({ webhookEvent: 'project_updated', project: { id: 1, key: 'PROJ' } });
  const ignored = await pair.a.fetch('/hooks/jira', { method: 'POST', headers: signed(project, 'x-hub-signature'), body: project });
  t.equal(ignored.status, 200);
  t.same(ignored.json(), { ignored: true });
  const uncached = updated('NOPE-9', '99999');
  t.equal((await pair.a.fetch('/hooks/jira', { method: 'POST', headers: signed(uncached, 'x-hub-signature'), body: uncached })).status, 200);
  t.same(await deliveries(pair.a), { 'jira/ignored': 1, 'jira/invalidated': 1 });
});
