import t from 'tap';
import { outboundEnvelope } from '../../helpers/hook-payloads.js';
import { deliveries, fakeSalesforce, freshAfter, hookRows, ORG, outcomes, Records, SECRET, shippedUpstream, startPair, V, warm } from './fixtures.js';

const ACME = '001000000000001AAA';
const GLOBEX = '001000000000002AAA';
const CONTACT = '003000000000001AAA';
const record = (type: string, id: string) => `/salesforce${V}/sobjects/${type}/${id}`;
const ACCOUNTS = `/salesforce${V}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`;
const soap = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };
const outbound = (secret: string) => `/hooks/salesforce/outbound?secret=${encodeURIComponent(secret)}`;

t.test('an outbound message is acknowledged and drops each notified record on both instances', async (t) => {
  const records = new Records();
  const salesforce = await fakeSalesforce(records);
  t.teardown(() => salesforce.close());
  const pair = await startPair(t, [shippedUpstream('salesforce', salesforce.url)], { salesforce: { secret: SECRET, organizationId: ORG.slice(0, 15), upstream: 'salesforce' } });
  if (pair === null) return;
  const { a, b, db } = pair;
  const both = [a, b];
  await warm(both, [record('Account', ACME), record('Account', GLOBEX), record('Contact', CONTACT), ACCOUNTS]);

  records.change(`Account/${ACME}`);
  const message = outboundEnvelope([['Account', ACME]], ORG);
  const sentAt = Date.now();
  const acked = await a.fetch(outbound(SECRET), { method: 'POST', headers: soap, body: message });
  const deliveredAt = Date.now();
  t.equal(acked.status, 200, `answered in ${deliveredAt - sentAt} ms`);
  t.match(acked.headers['content-type'], /^text\/xml/);
  t.match(acked.body.toString(), /<notificationsResponse xmlns="http:\/\/soap\.sforce\.com\/2005\/09\/outbound"><Ack>true<\/Ack><\/notificationsResponse>/);
  const fresh = await Promise.all([
    freshAfter(both, record('Account', ACME), (r) => r['version'] === 2, deliveredAt),
    freshAfter(both, ACCOUNTS, (r) => r['stamp'] === 1, deliveredAt),
  ]);
  t.ok(fresh.every((ms) => ms >= 0 && ms <= 100), `the record and queries over its type are fresh on both instances (${fresh.join(', ')} ms)`);
  t.same(await outcomes(both, [record('Account', GLOBEX), record('Contact', CONTACT)]), {
    [record('Account', GLOBEX)]: ['HIT', 'HIT'],
    [record('Contact', CONTACT)]: ['HIT', 'HIT'],
  });

  // Salesforce resends a message it got no Ack for: the same notification id, acknowledged, applied once.
  const resent = await b.fetch(outbound(SECRET), { method: 'POST', headers: soap, body: message });
  t.equal(resent.status, 200);
  t.match(resent.body.toString(), /<Ack>true<\/Ack>/);
  t.equal(a.invalidator.counts.hook + b.invalidator.counts.hook, 1);
  t.same(await deliveries(b), { 'salesforce-outbound/duplicate': 1 });

  const rows = await hookRows(db, 2);
  t.same(rows.map((r) => [r.action, r.status, r.path, r.query, r.resource_type, r.resource_id]), [
    ['hook.salesforce-outbound', 200, '/hooks/salesforce/outbound', null, 'Account', ACME],
    ['hook.salesforce-outbound', 200, '/hooks/salesforce/outbound', null, 'Account', ACME],
  ]);
  t.notOk(rows.some((r) => r.as_text.includes(SECRET)), 'the URL secret is in no row');
});

t.test('a wrong secret, another org or a malformed envelope is refused and changes nothing', async (t) => {
  const records = new Records();
  const salesforce = await fakeSalesforce(records);
  t.teardown(() => salesforce.close());
  const pair = await startPair(t, [shippedUpstream('salesforce', salesforce.url)], { salesforce: { secret: SECRET, organizationId: ORG, upstream: 'salesforce' } });
  if (pair === null) return;
  const { a, b, db } = pair;
  await warm([a, b], [record('Account', ACME)]);
  const post = (path: string, body: string) => a.fetch(path, { method: 'POST', headers: soap, body });

  t.equal((await post('/hooks/salesforce/outbound', outboundEnvelope([['Account', ACME]], ORG))).status, 401, 'no secret');
  t.equal((await post(outbound('guess'), outboundEnvelope([['Account', ACME]], ORG))).status, 401, 'a wrong secret');
  const otherOrg = await post(outbound(SECRET), outboundEnvelope([['Account', ACME]], '00D000000000009AAA'));
  t.equal(otherOrg.status, 403);
  t.match(otherOrg.json(), { error: 'forbidden', message: /OrganizationId 00D000000000009AAA is not the configured organization/ });
  const broken = await post(outbound(SECRET), '<soapenv:Envelope><soapenv:Body>');
  t.equal(broken.status, 400);
  t.match(broken.json(), { error: 'invalid_request', message: /^body: not well-formed XML/ });

  t.same(await outcomes([a, b], [record('Account', ACME)]), { [record('Account', ACME)]: ['HIT', 'HIT'] });
  t.same(await deliveries(a), { 'salesforce-outbound/unauthorized': 2, 'salesforce-outbound/forbidden': 1, 'salesforce-outbound/malformed': 1 });
  const rows = await hookRows(db, 4);
  t.same(rows.map((r) => r.status).sort(), [400, 401, 401, 403]);
  t.notOk(rows.some((r) => r.as_text.includes(SECRET) || r.as_text.includes('guess')), 'neither the secret nor a guess is kept');
});
