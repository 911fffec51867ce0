import t, { type Test } from 'tap';
import { deliveries, fakeSalesforce, freshAfter, hookRows, outcomes, Records, SECRET, shippedUpstream, signed, startPair, V, warm } from './fixtures.js';

const ACME = '001000000000001AAA';
const GLOBEX = '001000000000002AAA';
const CONTACT = '003000000000001AAA';
const record = (type: string, id: string) => `/salesforce${V}/sobjects/${type}/${id}`;
const query = (soql: string) => `/salesforce${V}/query?q=${encodeURIComponent(soql)}`;
const ACCOUNTS = query('SELECT Id, Name FROM Account');
const CONTACTS_WITH_ACCOUNT = query('SELECT Id, Account.Name FROM Contact');
const CONTACTS = query('SELECT Id FROM Contact');

let transaction = 0;
/** A change event as the Streaming API delivers it (`data.payload`, `data.event.replayId`). */
function streamed(entityName: string, recordIds: string[], changeType = 'UPDATE', replayId = ++transaction) {
  return {
    channel: '/data/ChangeEvents',
    data: {
      schema: 'IeRuaY6cbI_HsV8Rv1Mc5g',
      payload: { ChangeEventHeader: { entityName, recordIds, changeType, changeOrigin: 'com/salesforce/api/rest/60.0', commitTimestamp: Date.now(), commitUser: '005000000000001AAA' }, Name: 'New' },
      event: { replayId },
    },
  };
}

async function setup(t: Test, maxBodyBytes = 1024 * 1024) {
  const records = new Records();
  const salesforce = await fakeSalesforce(records);
  t.teardown(() => salesforce.close());
  const pair = await startPair(t, [shippedUpstream('salesforce', salesforce.url)], { salesforce: { secret: SECRET, organizationId: null, upstream: 'salesforce' }, maxBodyBytes });
  if (pair === null) return null;
  await warm([pair.a, pair.b], [record('Account', ACME), record('Account', GLOBEX), record('Contact', CONTACT), ACCOUNTS, CONTACTS_WITH_ACCOUNT, CONTACTS]);
  return { records, ...pair };
}

t.test('a change event drops the record and every query reading its entity on both instances; other records and objects stay', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const both = [s.a, s.b];
  s.records.change(`Account/${ACME}`);
  const body = JSON.stringify(streamed('Account', [ACME]));
  const sentAt = Date.now();
  const delivered = await s.a.fetch('/hooks/salesforce/cdc', { method: 'POST', headers: signed(body), body });
  const deliveredAt = Date.now();
  t.equal(delivered.status, 200, `answered in ${deliveredAt - sentAt} ms`);
  const [changed, accounts, viaRelationship] = await Promise.all([
    freshAfter(both, record('Account', ACME), (r) => r['version'] === 2, deliveredAt),
    freshAfter(both, ACCOUNTS, (r) => r['stamp'] === 1, deliveredAt),
    freshAfter(both, CONTACTS_WITH_ACCOUNT, (r) => r['stamp'] === 0, deliveredAt),
  ]);
  t.ok(changed >= 0 && changed <= 100, `the record is fresh on both instances ${changed} ms after the delivery`);
  t.ok(accounts >= 0 && accounts <= 100, `queries over Account are fresh on both ${accounts} ms after`);
  t.ok(viaRelationship >= 0 && viaRelationship <= 100, `queries reading Account through a relationship too (${viaRelationship} ms)`);
  t.same(await outcomes(both, [record('Account', GLOBEX), record('Contact', CONTACT), CONTACTS]), {
    [record('Account', GLOBEX)]: ['HIT', 'HIT'],
    [record('Contact', CONTACT)]: ['HIT', 'HIT'],
    [CONTACTS]: ['HIT', 'HIT'],
  });

  // The relay resends the same event (same replay id) to the other instance: counted once.
  const resent = await s.b.fetch('/hooks/salesforce/cdc', { method: 'POST', headers: signed(body), body });
  t.same(resent.json(), { duplicate: true });
  t.equal(s.a.invalidator.counts.hook + s.b.invalidator.counts.hook, 1);
  t.same(await deliveries(s.b), { 'salesforce-cdc/duplicate': 1 });
  const rows = await hookRows(s.db, 2);
  t.same(rows.map((r) => [r.action, r.status, r.path, r.resource_type, r.resource_id]), [
    ['hook.salesforce-cdc', 200, '/hooks/salesforce/cdc', 'Account', ACME],
    ['hook.salesforce-cdc', 200, '/hooks/salesforce/cdc', 'Account', ACME],
  ]);
  t.notOk(rows.some((r) => r.as_text.includes(SECRET) || r.as_text.includes('sha256=')));
});

t.test('a list mixing shapes, a repeat inside it, GAP_OVERFLOW and wildcard ids', async (t) => {
  const s = await setup(t);
  if (s === null) return;
  const both = [s.a, s.b];
  // Top-level header and payload.ChangeEventHeader in one list; the second event repeats an earlier replay id.
  const first = streamed('Contact', [CONTACT]);
  await s.a.fetch('/hooks/salesforce/cdc', { method: 'POST', headers: signed(JSON.stringify(first)), body: JSON.stringify(first) });
  const list = JSON.stringify([
    { ChangeEventHeader: { entityName: 'Account', recordIds: [GLOBEX], changeType: 'GAP_UPDATE', commitTimestamp: Date.now(), transactionKey: 'tx-9', sequenceNumber: 1 } },
    { payload: first.data.payload, event: first.data.event },
  ]);
  s.records.change(`Account/${GLOBEX}`);
  const mixed = await s.b.fetch('/hooks/salesforce/cdc', { method: 'POST', headers: signed(list), body: list });
  t.equal(mixed.status, 200);
  t.match(mixed.json(), { invalidated: { epochs: [`tag:sf:account:${GLOBEX.toLowerCase()}`, 'tag:sf:query:account', 'tag:sf:query-pages'] } }, 'only the new event is applied');
  const gapAt = Date.now();
  t.ok((await freshAfter(both, record('Account', GLOBEX), (r) => r['version'] === 2, gapAt)) <= 100, 'a gap event drops its records');
  t.same(await outcomes(both, [record('Account', ACME)]), { [record('Account', ACME)]: ['HIT', 'HIT'] }, 'a gap event drops its own records only');

  // Overflow: any Account may have changed.
  const kept = [record('Contact', CONTACT), CONTACTS];
  await warm(both, [record('Account', GLOBEX), ACCOUNTS, ...kept]);
  s.records.change(`Account/${ACME}`);
  s.records.change(`Account/${GLOBEX}`);
  const overflow = JSON.stringify(streamed('Account', [], 'GAP_OVERFLOW'));
  t.equal((await s.a.fetch('/hooks/salesforce/cdc', { method: 'POST', headers: signed(overflow), body: overflow })).status, 200);
  const overflowAt = Date.now();
  const afterOverflow = await Promise.all([
    freshAfter(both, record('Account', ACME), (r) => r['version'] === 2, overflowAt),
    freshAfter(both, record('Account', GLOBEX), (r) => r['version'] === 3, overflowAt),
    freshAfter(both, ACCOUNTS, (r) => r['stamp'] === 3, overflowAt),
  ]);
  t.ok(afterOverflow.every((ms) => ms >= 0 && ms <= 100), `GAP_OVERFLOW drops every record and query of the entity (${afterOverflow.join(', ')} ms)`);
  t.same(await outcomes(both, kept), { [kept[0]!]: ['HIT', 'HIT'], [kept[1]!]: ['HIT', 'HIT'] }, 'other objects stay');

  // A wildcard id: the same for the entity type.
  s.records.change(`Account/${ACME}`);
  s.records.change(`Account/${GLOBEX}`);
  const wildcard = JSON.stringify({ ChangeEventHeader: { entityName: 'Account', recordIds: ['001*'], changeType: 'UPDATE', commitTimestamp: Date.now() } });
  t.equal((await s.b.fetch('/hooks/salesforce/cdc', { method: 'POST', headers: signed(wildcard), body: wildcard })).status, 200);
  const wildcardAt = Date.now();
  const afterWildcard = await Promise.all([
    freshAfter(both, record('Account', ACME), (r) => r['version'] === 3, wildcardAt),
    freshAfter(both, record('Account', GLOBEX), (r) => r['version'] === 4, wildcardAt),
  ]);
  t.ok(afterWildcard.every((ms) => ms >= 0 && ms <= 100), `a wildcard id drops every record of the entity (${afterWildcard.join(', ')} ms)`);
  t.same(await outcomes(both, kept), { [kept[0]!]: ['HIT', 'HIT'], [kept[1]!]: ['HIT', 'HIT'] });
});

t.test('a bad signature, a malformed event or an oversized delivery changes nothing', async (t) => {
  const s = await setup(t, 2048);
  if (s === null) return;
  const post = (headers: Record<string, string>, body: string) => s.a.fetch('/hooks/salesforce/cdc', { method: 'POST', headers, body });
  const body = JSON.stringify(streamed('Account', [ACME]));
  t.equal((await post({ 'content-type': 'application/json' }, body)).status, 401);
  t.equal((await post(signed(body, 'x-hub-signature'), body)).status, 401, 'the Jira header is not the Salesforce one');
  t.equal((await post(signed(body, 'x-sidecache-signature', 'wrong'), body)).status, 401);
  const noIds = JSON.stringify(streamed('Account', []));
  const malformed = await post(signed(noIds), noIds);
  t.equal(malformed.status, 400);
  t.match(malformed.json(), { message: 'data.payload.ChangeEventHeader.recordIds: empty; a UPDATE event must name its records' });
  const big = JSON.stringify(Array.from({ length: 20 }, () => streamed('Account', [ACME])));
  t.equal((await post(signed(big), big)).status, 413);
  t.same(await outcomes([s.a, s.b], [record('Account', ACME), ACCOUNTS]), { [record('Account', ACME)]: ['HIT', 'HIT'], [ACCOUNTS]: ['HIT', 'HIT'] });
  t.same(await deliveries(s.a), { 'salesforce-cdc/unauthorized': 3, 'salesforce-cdc/malformed': 1, 'salesforce-cdc/too_large': 1 });
  t.equal((await hookRows(s.db, 5)).length, 5, 'one audit row per delivery');
});
