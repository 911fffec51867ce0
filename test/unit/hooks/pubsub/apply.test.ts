import avro from 'avsc';
import t from 'tap';
import { DeliveryDedupe } from '../../../../src/hooks/dedupe.js';
import { applyBatch, batchAuditEvent } from '../../../../src/hooks/pubsub/apply.js';
import { ChangeEventDecoder } from '../../../../src/hooks/pubsub/avro.js';
import type { ConsumerEvent } from '../../../../src/hooks/pubsub/proto.js';
import type { WriteEquivalent } from '../../../../src/hooks/write-equivalent.js';
import { changeEventSchema } from '../../../helpers/fake-pubsub.js';

const schema = changeEventSchema('Account');
const type = avro.Type.forSchema(schema as avro.Schema);
const platformEvent = { type: 'record', name: 'Shipped__e', fields: [{ name: 'CreatedDate', type: 'long' }] };
let n = 0;

function delivered(recordIds: string[], options: { id?: string; changeType?: string; entityName?: string } = {}): ConsumerEvent {
  n += 1;
  const header = {
    entityName: options.entityName ?? 'Account', recordIds, changeType: options.changeType ?? 'UPDATE', changeOrigin: '', transactionKey: `tx-${n}`, sequenceNumber: 1,
    commitTimestamp: 1_718_000_000_000 + n, commitNumber: n, commitUser: '005000000000001AAA', nulledFields: [], diffFields: [], changedFields: [],
  };
  const payload = type.toBuffer({ ChangeEventHeader: header, Name: null, Type: null, Phone: null, BillingAddress: null, OwnerId: null, LastModifiedDate: null });
  return { event: { id: options.id ?? `uuid-${n}`, schema_id: 'account', payload }, replay_id: Buffer.from([n]) };
}

function deps(invalidate: (target: { tags?: string[] }) => Promise<unknown>) {
  const dedupe = new DeliveryDedupe({ redis: null, namespace: 't', windowMs: 60_000, timeoutMs: 50, maxRemembered: 100 });
  const decoder = new ChangeEventDecoder(async (id) => JSON.stringify(id === 'account' ? schema : platformEvent));
  // Only Account has a write rule here; anything else invalidates nothing.
  const equivalent: WriteEquivalent = {
    invalidatedBy: (_method, path) => (path.includes('/Account/') ? [`sf:account:${path.split('/').pop()}`, 'sf:query:account'] : []),
    readTags: () => [],
  };
  const targets: Array<{ tags?: string[] }> = [];
  return { targets, deps: { decoder, dedupe, equivalent, invalidator: { invalidate: async (target: { tags?: string[] }) => (targets.push(target), invalidate(target)) as never } } };
}

t.test('each event once: changes invalidated together, repeats, non-change events and unreadable payloads counted apart', async (t) => {
  const { targets, deps: d } = deps(async () => ({}));
  const first = delivered(['001000000000001AAA'], { id: 'same-uuid' });
  const batch = await applyBatch(
    [
      first,
      delivered(['001000000000002AAA']),
      { event: { id: 'x', schema_id: 'shipped', payload: avro.Type.forSchema(platformEvent as avro.Schema).toBuffer({ CreatedDate: 1 }) }, replay_id: Buffer.from([90]) },
      { event: { id: 'y', schema_id: 'account', payload: Buffer.from([1, 2, 3]) }, replay_id: Buffer.from([91]) },
      delivered(['003000000000001AAA'], { entityName: 'Contact' }),
      delivered([], { changeType: 'UPDATE' }),
    ],
    d,
  );
  t.same(batch.outcomes, ['invalidated', 'invalidated', 'ignored', 'malformed', 'ignored', 'malformed']);
  t.same(targets, [{ tags: ['sf:account:001000000000001AAA', 'sf:query:account', 'sf:account:001000000000002AAA'] }], 'one invalidation for the batch');
  t.same(batch.entities, ['Account']);
  t.same(batch.recordIds, ['001000000000001AAA', '001000000000002AAA']);
  const again = await applyBatch([first], d);
  t.same(again.outcomes, ['duplicate'], 'the same EventUuid again is a duplicate');
  t.equal(targets.length, 1);
});

t.test('a failed invalidation gives its claims back, so the redelivered events apply', async (t) => {
  let fail = true;
  const { targets, deps: d } = deps(async () => {
    if (fail) throw new Error('database down');
    return {};
  });
  const event = delivered(['001000000000001AAA']);
  await t.rejects(applyBatch([event], d), /database down/);
  fail = false;
  t.same((await applyBatch([event], d)).outcomes, ['invalidated']);
  t.equal(targets.length, 2);
});

t.test('the audit row names the source and topic, carries the replay id and never a token', async (t) => {
  const row = batchAuditEvent({ topic: '/data/ChangeEvents', startedAt: 1, elapsedMs: 2, batch: { outcomes: ['invalidated'], lastCommitAt: 1, entities: ['Account'], recordIds: ['001000000000001AAA'] }, bytes: 10, replayId: Buffer.from([0, 255]), rpcId: 'r-1', errorCode: null });
  t.match(row, { action: 'hook.salesforce-pubsub', method: 'SUBSCRIBE', path: '/data/ChangeEvents', query: 'replayId=00ff&rpcId=r-1', resourceType: 'Account', resourceId: '001000000000001AAA', status: 200, upstream: null });
});
