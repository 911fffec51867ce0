import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Redis } from 'ioredis';
import { KeyRing } from '../../../src/cache/seal.js';
import { EntryCodec, SealFailures } from '../../../src/cache/sealed-codec.js';
import type { CacheTier } from '../../../src/cache/store.js';
import { PostgresTier } from '../../../src/cache/tiers/postgres.js';
import { RedisTier } from '../../../src/cache/tiers/redis.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { databases } from '../../helpers/database.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { runTierContract, testEntry } from '../../helpers/tier-contract.js';

const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');
const MARKER = 'MarkerCustomerZebra';

/** Makes a tier over the same store with the given key ring (null: plain), counting failures. */
type Make = (ring: KeyRing | null, failures?: SealFailures, now?: () => number) => CacheTier;

/** Every stored byte of the store, for the marker scan. */
type Dump = () => Promise<Buffer[]>;

function entry(now: number) {
  return testEntry(now, {
    path: `/query?q=SELECT+Name+FROM+Account+WHERE+Name='${MARKER}'`,
    headers: { 'content-type': 'application/json', 'x-customer': MARKER },
    body: Buffer.from(JSON.stringify({ Name: MARKER, Email: `${MARKER}@example.com` })),
    tags: [`account:${MARKER}`],
  });
}

function failures(): { sink: SealFailures; logged: string[] } {
  const logged: string[] = [];
  return { sink: new SealFailures((fields) => logged.push(`${fields['tier']}/${fields['reason']}`)), logged };
}

async function sealedBehaviour(t: Test, name: string, make: Make, dump: Dump): Promise<void> {
  await runTierContract(t, `${name}, sealed`, async (now) => make(KeyRing.parse(NEW, null), undefined, now));

  t.test(`${name}: no marker is stored with a key; markers are found without one`, async (t) => {
    const sealed = make(KeyRing.parse(NEW, null));
    const e = entry(Date.now());
    await sealed.set(e);
    t.notOk((await dump()).some((value) => value.includes(MARKER)), 'no marker in any stored value');
    t.equal((await sealed.get(e.key))?.body.toString(), e.body.toString(), 'reads back');
    await sealed.clear();
    const plain = make(null);
    await plain.set(e);
    t.ok((await dump()).some((value) => value.includes(MARKER)), 'the scan finds a plain marker');
    await plain.clear();
  });

  t.test(`${name}: rotation reads old-key entries and re-seals them; a wrong key or none is a counted miss`, async (t) => {
    const e = entry(Date.now());
    await make(KeyRing.parse(OLD, null)).set(e);
    const before = await dump();
    const seen = failures();
    const rotated = make(KeyRing.parse(NEW, OLD), seen.sink);
    t.equal((await rotated.get(e.key))?.body.toString(), e.body.toString(), 'a hit with the old key in the ring');
    const after = await dump();
    t.notSame(after, before, 're-sealed on read');
    t.equal((await make(KeyRing.parse(NEW, null)).get(e.key))?.body.toString(), e.body.toString(), 'now opens with the new key alone');
    const wrong = failures();
    t.equal(await make(KeyRing.parse(randomBytes(32).toString('hex'), null), wrong.sink).get(e.key), undefined, 'a wrong key: miss');
    t.same(wrong.logged, [`${name}/unknown-key`]);
    const idClash = failures();
    t.equal(await make(KeyRing.parse(`${KeyRing.parse(NEW, null).currentId}:${OLD}`, null), idClash.sink).get(e.key), undefined, 'same id, other key: miss');
    t.same(idClash.logged, [`${name}/unauthentic`]);
    const none = failures();
    t.equal(await make(null, none.sink).get(e.key), undefined, 'no key: miss');
    t.same(none.logged, [], 'a plain tier reads only its own keyspace or rows, so it never meets a sealed value');
    t.same(seen.logged, [], 'the rotation itself logged nothing');
    await rotated.clear();
  });
}

t.test('redis', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const client = createRedisClient(redis.url, { connectTimeoutMs: 2_000, name: 'sidecache-test', log: () => undefined }) as Redis;
  t.teardown(() => client.disconnect());
  await waitForReady(client, 5_000);
  const make: Make = (ring, sink, now) =>
    new RedisTier({ client, namespace: redis.namespace, compressAboveBytes: 64, codec: new EntryCodec('redis', ring, sink?.sink), ...(now === undefined ? {} : { now }) });
  const dump: Dump = async () => {
    const keys = await client.keys(`sidecache:${redis.namespace}:*`);
    const values: Buffer[] = [Buffer.from(keys.join('\n'))];
    for (const key of keys) values.push(...((await client.type(key)) === 'string' ? [(await client.getBuffer(key))!] : (await client.zrange(key, 0, -1)).map((m) => Buffer.from(m))));
    return values;
  };
  await sealedBehaviour(t, 'redis', make, dump);
});

for (const target of await databases(t)) {
  t.test(`postgres on ${target.name}`, async (t) => {
    const db: SqlDatabase = await target.open(t, { migrate: true });
    const make: Make = (ring, sink, now) => new PostgresTier({ db, codec: new EntryCodec('postgres', ring, sink?.sink), ...(now === undefined ? {} : { now }) });
    // Every column as text, and the body's raw bytes (bytea prints as hex).
    const dump: Dump = async () =>
      (await db.query<{ row: string; body: Buffer }>('SELECT t::text AS row, body FROM api_cache t')).rows.flatMap((r) => [Buffer.from(r.row), r.body]);
    await sealedBehaviour(t, 'postgres', make, dump);
  });
}
