import avro from 'avsc';
import t from 'tap';
import { ChangeEventDecoder } from '../../../../src/hooks/pubsub/avro.js';
import { changeEventSchema } from '../../../helpers/fake-pubsub.js';

const header = {
  entityName: 'Account',
  recordIds: ['001000000000001AAA'],
  changeType: 'GAP_UPDATE',
  changeOrigin: 'com/salesforce/api/rest/60.0',
  transactionKey: 'tx-1',
  sequenceNumber: 2,
  commitTimestamp: 1_718_000_000_000,
  commitNumber: 0,
  commitUser: '005000000000001AAA',
  nulledFields: [],
  diffFields: [],
  changedFields: ['0x0A'],
};

function encode(schema: object, value: object): Buffer {
  return avro.Type.forSchema(schema as avro.Schema).toBuffer(value);
}

t.test('reads the ChangeEventHeader of a CDC payload and skips the rest; one schema fetch per id', async (t) => {
  const schema = changeEventSchema('Account');
  const fetched: string[] = [];
  const decoder = new ChangeEventDecoder(async (id) => {
    fetched.push(id);
    return JSON.stringify(schema);
  });
  const payload = encode(schema, { ChangeEventHeader: header, Name: 'Acme', Type: null, Phone: null, BillingAddress: { Street: null, City: 'Paris' }, OwnerId: null, LastModifiedDate: 1 });
  t.same(await decoder.header('s1', payload), {
    entityName: 'Account',
    recordIds: ['001000000000001AAA'],
    changeType: 'GAP_UPDATE',
    changeOrigin: 'com/salesforce/api/rest/60.0',
    transactionKey: 'tx-1',
    sequenceNumber: 2,
    commitTimestamp: 1_718_000_000_000,
    commitUser: '005000000000001AAA',
  });
  await decoder.header('s1', payload);
  t.same(fetched, ['s1']);
  await t.rejects(decoder.header('s1', payload.subarray(0, 10)), 'a truncated payload throws');
});

t.test('longs beyond 2^53 outside the header fields read are skipped, not refused', async (t) => {
  const schema = changeEventSchema('Account');
  const longType = avro.types.LongType.__with({
    fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
    toBuffer: (n: bigint) => {
      const buf = Buffer.alloc(8);
      buf.writeBigInt64LE(n);
      return buf;
    },
    fromJSON: BigInt,
    toJSON: Number,
    isValid: (n: unknown) => typeof n === 'bigint',
    compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
  });
  const writer = avro.Type.forSchema(schema as avro.Schema, { registry: { long: longType } });
  const payload = writer.toBuffer({ ChangeEventHeader: { ...header, commitTimestamp: 1_718_000_000_000n, commitNumber: 2n ** 60n }, Name: null, Type: null, Phone: null, BillingAddress: null, OwnerId: null, LastModifiedDate: null });
  const decoder = new ChangeEventDecoder(async () => JSON.stringify(schema));
  t.match(await decoder.header('s', payload), { entityName: 'Account', commitTimestamp: 1_718_000_000_000 });
});

t.test('an event without a ChangeEventHeader (a platform event) decodes to null', async (t) => {
  const schema = { type: 'record', name: 'Order_Shipped__e', namespace: 'com.sforce.eventbus', fields: [{ name: 'CreatedDate', type: 'long' }, { name: 'Order_Number__c', type: ['null', 'string'], default: null }] };
  const decoder = new ChangeEventDecoder(async () => JSON.stringify(schema));
  t.equal(await decoder.header('p', encode(schema, { CreatedDate: 1, Order_Number__c: 'x' })), null);
});
