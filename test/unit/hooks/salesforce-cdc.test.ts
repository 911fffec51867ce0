import t from 'tap';
import { SidecacheError } from '../../../src/errors.js';
import { changeEventsTarget, MAX_EVENTS, parseChangeEvents } from '../../../src/hooks/salesforce-cdc.js';
import { shippedEquivalent } from './shipped-rules.js';

const salesforce = shippedEquivalent('salesforce');
const ACME = '001000000000001AAA';
const GLOBEX = '001000000000002AAA';

const header = (overrides: Record<string, unknown> = {}) => ({
  entityName: 'Account',
  recordIds: [ACME],
  changeType: 'UPDATE',
  changeOrigin: 'com/salesforce/api/soap/60.0',
  transactionKey: '0002343d-9d90-e395-ed20-cf416ba652ad',
  sequenceNumber: 1,
  commitTimestamp: 1_700_000_000_000,
  commitNumber: 10_585_193_272_713,
  commitUser: '005000000000001AAA',
  ...overrides,
});

function refusal(body: unknown): string {
  try {
    parseChangeEvents(body);
  } catch (err) {
    if (err instanceof SidecacheError && err.status === 400) return err.message;
    throw err;
  }
  throw new Error('the body was accepted');
}

t.test('the header is found at the top level, under payload and under data.payload', async (t) => {
  const shapes = {
    top: { ChangeEventHeader: header(), Name: 'Acme' },
    payload: { schema: 'x', payload: { ChangeEventHeader: header(), Name: 'Acme' }, event: { replayId: 7 } },
    streaming: { data: { schema: 'x', payload: { ChangeEventHeader: header() }, event: { replayId: 7 } }, channel: '/data/ChangeEvents' },
  };
  for (const [name, body] of Object.entries(shapes)) {
    const [event] = parseChangeEvents(body);
    t.same(event, { entity: 'Account', changeType: 'UPDATE', recordIds: [ACME], wholeEntity: false, deliveryId: `tx:${header().transactionKey}:1:Account` }, name);
  }
});

t.test('each record invalidates itself and every query reading its entity (what a PATCH through the proxy does)', async (t) => {
  const events = parseChangeEvents({ ChangeEventHeader: header({ recordIds: [ACME, GLOBEX] }) });
  t.same(changeEventsTarget(events, salesforce), {
    tags: [`sf:Account:${ACME}`, 'sf:query:Account', 'sf:query-pages', `sf:Account:${GLOBEX}`],
  });
});

t.test('a list of events is one delivery; each keeps its own identity for dedupe', async (t) => {
  const events = parseChangeEvents([
    { ChangeEventHeader: header() },
    { payload: { ChangeEventHeader: header({ entityName: 'Contact', recordIds: ['003000000000001AAA'], sequenceNumber: 2 }) } },
    { data: { payload: { ChangeEventHeader: header({ transactionKey: undefined, changeType: 'DELETE' }) }, event: { replayId: 42 } } },
    { ChangeEventHeader: header({ transactionKey: undefined }) },
  ]);
  t.same(events.map((e) => e.deliveryId), [`tx:${header().transactionKey}:1:Account`, `tx:${header().transactionKey}:2:Contact`, 'replay:Account:42', null]);
  t.same(changeEventsTarget(events, salesforce).tags, [`sf:Account:${ACME}`, 'sf:query:Account', 'sf:query-pages', 'sf:Contact:003000000000001AAA', 'sf:query:Contact']);
});

t.test('gap events invalidate their record ids', async (t) => {
  for (const changeType of ['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE']) {
    const events = parseChangeEvents({ ChangeEventHeader: header({ changeType, recordIds: [GLOBEX] }) });
    t.same(events[0]!.recordIds, [GLOBEX], changeType);
    t.same(changeEventsTarget(events, salesforce).tags, [`sf:Account:${GLOBEX}`, 'sf:query:Account', 'sf:query-pages'], changeType);
  }
});

t.test('GAP_OVERFLOW invalidates the whole entity: every record read and every query of it', async (t) => {
  const events = parseChangeEvents({ ChangeEventHeader: header({ changeType: 'GAP_OVERFLOW', recordIds: [] }) });
  t.same(events[0], { entity: 'Account', changeType: 'GAP_OVERFLOW', recordIds: [], wholeEntity: true, deliveryId: `tx:${header().transactionKey}:1:Account` });
  t.same(changeEventsTarget(events, salesforce).tags, ['sf:query:Account', 'sf:query-pages', 'sf:Account']);
});

t.test('a wildcard id such as 001* invalidates the entity type', async (t) => {
  for (const ids of [['001*'], [ACME, '001*'], ['*']]) {
    const events = parseChangeEvents({ ChangeEventHeader: header({ recordIds: ids }) });
    t.equal(events[0]!.wholeEntity, true, ids.join(','));
    t.same(changeEventsTarget(events, salesforce).tags, ['sf:query:Account', 'sf:query-pages', 'sf:Account']);
  }
});

t.test('custom objects keep their API name', async (t) => {
  const events = parseChangeEvents({ ChangeEventHeader: header({ entityName: 'ns__Invoice__c', recordIds: ['a01000000000001AAA'] }) });
  t.same(changeEventsTarget(events, salesforce).tags, ['sf:ns__Invoice__c:a01000000000001AAA', 'sf:query:ns__Invoice__c', 'sf:query-pages']);
});

t.test('a malformed delivery is refused, naming the event and the field', async (t) => {
  t.match(refusal([]), /^body: an empty list/);
  t.match(refusal(null), /^body: must be a change event object, got null/);
  t.match(refusal({ Name: 'x' }), /^ChangeEventHeader: missing \(looked at the top level, under payload and under data\.payload\)/);
  t.match(refusal({ ChangeEventHeader: 'x' }), /^ChangeEventHeader: must be an object/);
  t.match(refusal([{ ChangeEventHeader: header() }, 5]), /^\[1\]: must be a change event object, got 5/);
  t.match(refusal({ payload: { ChangeEventHeader: header({ entityName: 'Account; DROP' }) } }), /^payload\.ChangeEventHeader\.entityName: must be an sObject API name/);
  t.match(refusal({ ChangeEventHeader: header({ changeType: 'MERGE' }) }), /^ChangeEventHeader\.changeType: must be one of CREATE, UPDATE/);
  t.match(refusal({ ChangeEventHeader: header({ commitTimestamp: '2024-01-01' }) }), /^ChangeEventHeader\.commitTimestamp: must be epoch milliseconds/);
  t.match(refusal({ ChangeEventHeader: header({ recordIds: ACME }) }), /^ChangeEventHeader\.recordIds: must be a list/);
  t.match(refusal({ ChangeEventHeader: header({ recordIds: [] }) }), /^ChangeEventHeader\.recordIds: empty; a UPDATE event must name its records/);
  t.match(refusal([{ ChangeEventHeader: header() }, { data: { payload: { ChangeEventHeader: header({ recordIds: ['001:x'] }) } } }]), /^\[1\]\.data\.payload\.ChangeEventHeader\.recordIds\[0\]: must be a 15- or 18-character record id/);
  t.match(refusal(Array.from({ length: MAX_EVENTS + 1 }, () => ({ ChangeEventHeader: header() }))), /at most 1000 per delivery/);
});
