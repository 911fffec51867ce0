import t from 'tap';
import { deliveries, fakeJira, fakeSalesforce, freshAfter, hookRows, outcomes, Records, SECRET, shippedUpstream, signed, startPair, V, warm } from './fixtures.js';

const ACME = `/salesforce${V}/sobjects/Account/001000000000001AAA`;
const GLOBEX = `/salesforce${V}/sobjects/Account/001000000000002AAA`;
const ISSUE = '/jira/rest/api/3/issue/PROJ-1';
const FIELDS = '/jira/rest/api/3/field';

t.test('POST /hooks/invalidate takes the admin invalidation body, signed', async (t) => {
  const records = new Records();
  const salesforce = await fakeSalesforce(records);
  const jira = await fakeJira(records);
  t.teardown(() => Promise.all([salesforce.close(), jira.close()]));
  const pair = await startPair(t, [shippedUpstream('salesforce', salesforce.url), shippedUpstream('jira', jira.url)], { generic: { secret: SECRET } });
  if (pair === null) return;
  const { a, b, db } = pair;
  const both = [a, b];
  await warm(both, [ACME, GLOBEX, ISSUE, FIELDS]);

  // A database trigger knows Acme changed, and a CI job that Jira issues did.
  records.change('Account/001000000000001AAA');
  records.change('issue/PROJ-1');
  const body = JSON.stringify({ tags: ['sf:Account:001000000000001AAA'] });
  const delivered = await a.fetch('/hooks/invalidate', { method: 'POST', headers: signed(body), body });
  t.equal(delivered.status, 200);
  t.match(delivered.json(), { invalidated: { epochs: ['tag:sf:account:001000000000001aaa'], propagated: true } });
  const prefix = JSON.stringify({ upstream: 'jira', prefix: '/rest/api/3/issue' });
  t.equal((await b.fetch('/hooks/invalidate', { method: 'POST', headers: signed(prefix), body: prefix })).status, 200);
  const deliveredAt = Date.now();
  const fresh = await Promise.all([
    freshAfter(both, ACME, (r) => r['version'] === 2, deliveredAt),
    freshAfter(both, ISSUE, (r) => r['version'] === 2, deliveredAt),
  ]);
  t.ok(fresh.every((ms) => ms >= 0 && ms <= 100), `both are fresh on both instances (${fresh.join(', ')} ms)`);
  t.same(await outcomes(both, [GLOBEX, FIELDS]), { [GLOBEX]: ['HIT', 'HIT'], [FIELDS]: ['HIT', 'HIT'] });

  const post = (headers: Record<string, string>, payload: string) => a.fetch('/hooks/invalidate', { method: 'POST', headers, body: payload });
  const all = JSON.stringify({ all: true });
  t.equal((await post({ 'content-type': 'application/json' }, all)).status, 401, 'unsigned');
  t.equal((await post(signed(all, 'x-sidecache-signature', 'other'), all)).status, 401, 'signed with another secret');
  const stringTrue = JSON.stringify({ all: 'true' });
  const refused = await post(signed(stringTrue), stringTrue);
  t.equal(refused.status, 400);
  t.match(refused.json(), { error: 'invalid_request', message: /all must be boolean/ });
  const nowhere = JSON.stringify({ upstream: 'jira', prefix: '/rest/api/2/nothing' });
  t.equal((await post(signed(nowhere), nowhere)).status, 422, 'a prefix nothing is cached under, as on the admin route');
  t.same(await outcomes(both, [GLOBEX, FIELDS]), { [GLOBEX]: ['HIT', 'HIT'], [FIELDS]: ['HIT', 'HIT'] }, 'refused deliveries changed nothing');

  t.same(await deliveries(a), { 'generic/invalidated': 1, 'generic/unauthorized': 2, 'generic/malformed': 2 });
  const rows = await hookRows(db, 6);
  t.equal(rows.length, 6, 'one audit row per delivery');
  t.ok(rows.every((r) => r.action === 'hook.generic'));
  t.notOk(rows.some((r) => r.as_text.includes(SECRET)));
});
