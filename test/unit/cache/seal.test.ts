import { randomBytes } from 'node:crypto';
import t from 'tap';
import { encodeEntry } from '../../../src/cache/codec.js';
import { isSealed, KeyRing, SEALED_MAGIC } from '../../../src/cache/seal.js';
import { EntryCodec, SealFailures } from '../../../src/cache/sealed-codec.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';

const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('hex');
const PLAIN = Buffer.from('{"Name":"Marker Customer","Email":"marker@example.com"}');

t.test('seal and open round-trip; each seal uses a fresh nonce; nothing readable is left', async (t) => {
  const ring = KeyRing.parse(NEW, null);
  const a = ring.seal(PLAIN, 'api:shared:k1');
  const b = ring.seal(PLAIN, 'api:shared:k1');
  t.ok(isSealed(a));
  t.equal(a[0], SEALED_MAGIC);
  t.notOk(a.equals(b), 'two seals of the same bytes differ (fresh nonce)');
  t.notOk(a.includes(Buffer.from('Marker')), 'no plaintext in the envelope');
  const opened = ring.open(a, 'api:shared:k1');
  t.ok(opened.ok && opened.plain.equals(PLAIN) && opened.current && opened.keyId === ring.currentId);
});

t.test('the cache key is associated data: an envelope copied to another key does not open', async (t) => {
  const ring = KeyRing.parse(NEW, null);
  const sealed = ring.seal(PLAIN, 'api:shared:k1');
  t.same(ring.open(sealed, 'api:shared:k2'), { ok: false, reason: 'unauthentic' });
});

t.test('tampering anywhere fails authentication; malformed buffers never throw', async (t) => {
  const ring = KeyRing.parse(NEW, null);
  const sealed = ring.seal(PLAIN, 'k');
  for (const at of [1, 2, 3, 10, 20, sealed.length - 20, sealed.length - 1]) {
    const copy = Buffer.from(sealed);
    copy[at] = copy[at]! ^ 0x01;
    t.equal(ring.open(copy, 'k').ok, false, `flipping byte ${at}`);
  }
  for (const bad of [Buffer.alloc(0), Buffer.from([SEALED_MAGIC]), Buffer.from([SEALED_MAGIC, 1, 0]), sealed.subarray(0, 30), Buffer.from('{"plain":1}')]) {
    t.equal(ring.open(bad, 'k').ok, false);
  }
});

t.test('a ring opens older keys, reports them as not current, and reseals under the new one', async (t) => {
  const old = KeyRing.parse(OLD, null);
  const sealedOld = old.seal(PLAIN, 'k');
  const rotated = KeyRing.parse(NEW, OLD);
  const opened = rotated.open(sealedOld, 'k');
  t.ok(opened.ok && !opened.current && opened.keyId === old.currentId, 'old envelope opens, flagged old');
  t.same(KeyRing.parse(NEW, null).open(sealedOld, 'k'), { ok: false, reason: 'unknown-key' }, 'without the old key: unknown key');
  t.same(old.open(rotated.seal(PLAIN, 'k'), 'k'), { ok: false, reason: 'unknown-key' });
  t.same(rotated.indexHashes('tag\0x').length, 2, 'a search matches hashes under every key of the ring');
  t.ok(rotated.indexHashes('tag\0x').includes(old.indexHash('tag\0x')));
});

t.test('a key given an id by the operator names its envelopes with it; a wrong key with the same id fails to authenticate', async (t) => {
  const ring = KeyRing.parse(`prod-1:${OLD}`, null);
  t.equal(ring.currentId, 'prod-1');
  const sealed = ring.seal(PLAIN, 'k');
  const other = KeyRing.parse(`prod-1:${NEW}`, null);
  t.same(other.open(sealed, 'k'), { ok: false, reason: 'unauthentic' });
});

t.test('EntryCodec: sealed entries decode; plain values under a key and sealed values without one are counted misses', async (t) => {
  const logged: string[] = [];
  const failures = new SealFailures((fields) => logged.push(`${fields['tier']}/${fields['reason']}`));
  const ring = KeyRing.parse(NEW, null);
  const sealing = new EntryCodec('redis', ring, failures.sink);
  const plain = new EntryCodec('redis', null, failures.sink);
  const entry = testEntry(CONTRACT_START, { body: PLAIN });
  const stored = await sealing.encode(entry, 8192);
  t.notOk(stored.includes(Buffer.from(entry.path)), 'path sealed');
  t.notOk(stored.includes(Buffer.from('content-type')), 'headers sealed');
  const decoded = await sealing.decode(stored, entry.key);
  t.ok(decoded?.entry.body.equals(PLAIN) && decoded.oldKey === false);
  t.equal(sealing.decodeMeta(stored, entry.key)?.fields.path, entry.path, 'listing metadata from the opened envelope');
  t.equal(await sealing.decode(stored, 'api:shared:other'), undefined, 'another key: miss');
  t.equal(await sealing.decode(await encodeEntry(entry, { compressAboveBytes: 8192 }), entry.key), undefined, 'a plain value under a key: miss');
  t.equal(await plain.decode(stored, entry.key), undefined, 'sealed without a key: miss');
  t.equal(await sealing.decode(stored, 'api:shared:other'), undefined);
  t.same(logged, ['redis/unauthentic', 'redis/sealed-without-key'], 'logged once per tier and reason');
  t.same(failures.counts(), [['redis', 'unauthentic', 2], ['redis', 'sealed-without-key', 1]], 'every failure counted');
});
