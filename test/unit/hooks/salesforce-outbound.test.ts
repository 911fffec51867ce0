import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { SidecacheError } from '../../../src/errors.js';
import { OUTBOUND_ACK, organizationMatches, outboundTarget, parseOutboundMessage } from '../../../src/hooks/salesforce-outbound.js';
import { outboundEnvelope as envelope } from '../../helpers/hook-payloads.js';
import { shippedEquivalent } from './shipped-rules.js';

const salesforce = shippedEquivalent('salesforce');
const ORG = '00D000000000001AAA';

function refusal(xml: string): string {
  try {
    parseOutboundMessage(Buffer.from(xml));
  } catch (err) {
    if (err instanceof SidecacheError && err.status === 400) return err.message;
    throw err;
  }
  throw new Error('the body was accepted');
}

t.test('a notifications envelope gives its org and each notified record', async (t) => {
  const message = parseOutboundMessage(Buffer.from(envelope([['Account', '001000000000001AAA'], ['Contact', '003000000000001AAA']], ORG)));
  t.match(message, {
    organizationId: ORG,
    notifications: [
      { id: /^04l\w{15}$/, entity: 'Account', recordId: '001000000000001AAA' },
      { id: /^04l\w{15}$/, entity: 'Contact', recordId: '003000000000001AAA' },
    ],
  });
  t.equal(message.notifications.length, 2);
  t.same(outboundTarget(message.notifications, salesforce).tags, [
    'sf:Account:001000000000001AAA', 'sf:query:Account', 'sf:query-pages', 'sf:Contact:003000000000001AAA', 'sf:query:Contact',
  ]);
});

t.test('one notification is read as a list of one', async (t) => {
  t.equal(parseOutboundMessage(Buffer.from(envelope([['Account', '001000000000001AAA']], ORG))).notifications.length, 1);
});

t.test('org ids compare on their 15-character, case-sensitive form', async (t) => {
  t.ok(organizationMatches(ORG, ORG));
  t.ok(organizationMatches(ORG.slice(0, 15), ORG));
  t.ok(organizationMatches(ORG, ORG.slice(0, 15)));
  t.notOk(organizationMatches(ORG, '00D000000000002AAA'));
  t.notOk(organizationMatches(ORG, ORG.toLowerCase()));
});

t.test('the Ack is the SOAP notificationsResponse Salesforce expects', async (t) => {
  const parsed = new XMLParser({ removeNSPrefix: true }).parse(OUTBOUND_ACK) as { Envelope: { Body: { notificationsResponse: { Ack: boolean } } } };
  t.equal(parsed.Envelope.Body.notificationsResponse.Ack, true);
  t.match(OUTBOUND_ACK, /<notificationsResponse xmlns="http:\/\/soap\.sforce\.com\/2005\/09\/outbound">/);
});

t.test('a malformed message is refused, naming what was wrong', async (t) => {
  t.match(refusal(''), /^body: empty/);
  t.match(refusal('<a><b></a>'), /^body: not well-formed XML \(line 1, column \d+: Expected closing tag/);
  t.match(refusal('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'), /^body: a DOCTYPE is not allowed/);
  t.match(refusal('<Envelope><Body><other/></Body></Envelope>'), /^Envelope\.Body\.notifications: missing/);
  t.match(refusal(envelope([['Account', '001000000000001AAA']], 'acme')), /^notifications\.OrganizationId: must be an org id, got "acme"/);
  t.match(refusal(envelope([], ORG)), /^notifications\.Notification: missing/);
  t.match(refusal(envelope([['Account', 'not-an-id']], ORG)), /^notifications\.Notification\[0\]\.sObject\.Id: must be a record id/);
  t.match(refusal(envelope([['Acc ount', '001000000000001AAA']], ORG).replace('sf:Acc ount', 'Acc ount')), /^notifications\.Notification\[0\]\.sObject: xsi:type must name the sObject type/);
  t.match(refusal(envelope(Array.from({ length: 101 }, () => ['Account', '001000000000001AAA'] as [string, string]), ORG)), /at most 100/);
});
