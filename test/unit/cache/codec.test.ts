import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { decodeEntry, encodeEntry, envelopeEntryBytes, ENTRY_BYTES_OFFSET } from '../../../src/cache/codec.js';
import { ENTRY_FORMAT_VERSION, type CacheEntry } from '../../../src/cache/entry.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';

const NO_COMPRESSION = { compressAboveBytes: Number.MAX_SAFE_INTEGER };
const COMPRESS_ABOVE_8K = { compressAboveBytes: 8 * 1024 };
const FLAGS_OFFSET = 1;

/** Encodes and decodes, and checks every field came back exactly. */
async function roundTrip(t: Test, entry: CacheEntry, options = COMPRESS_ABOVE_8K): Promise<Buffer> {
  const envelope = await encodeEntry(entry, options);
  const decoded = await decodeEntry(envelope);
  if (decoded === undefined) {
    t.fail('decodeEntry returned undefined');
    return envelope;
  }
  t.ok(Buffer.isBuffer(decoded.body), 'body is a Buffer');
  t.ok(decoded.body.equals(entry.body), `body round-trips (${entry.body.length} bytes)`);
  const { body: _d, ...decodedRest } = decoded;
  const { body: _e, ...entryRest } = entry;
  t.strictSame(decodedRest, entryRest, 'every other field round-trips');
  return envelope;
}

/** ~2 KB of Salesforce-like JSON. */
function jsonBody(bytes: number): Buffer {
  const records: object[] = [];
  let i = 0;
  while (JSON.stringify(records).length < bytes) {
    const id = `001${String(i).padStart(15, '0')}`;
    records.push({ attributes: { type: 'Account', url: `/services/data/v59.0/sobjects/Account/${id}` }, Id: id, Name: `Acme ${i}`, Industry: 'Tech' });
    i++;
  }
  return Buffer.from(JSON.stringify({ totalSize: records.length, done: true, records }));
}

t.test('round-trips a typical entry exactly', async (t) => {
  await roundTrip(t, testEntry(CONTRACT_START));
});

t.test('round-trips a binary body with all 256 byte values', async (t) => {
  const body = Buffer.alloc(1024);
  for (let i = 0; i < body.length; i++) body[i] = i % 256;
  await roundTrip(t, testEntry(CONTRACT_START, { body }), NO_COMPRESSION);
  await roundTrip(t, testEntry(CONTRACT_START, { body }), { compressAboveBytes: 0 });
});

t.test('round-trips repeated headers as arrays and single ones as strings', async (t) => {
  // JSON.parse makes "__proto__" an own data property, as a parsed header map could.
  const headers = JSON.parse(
    '{"content-type":"application/json","link":["<https://a.example/1>; rel=\\"next\\"","<https://a.example/9>; rel=\\"last\\""],' +
      '"x-one-item-array":["only"],"x-empty-array":[],"x-empty-value":"","__proto__":"not a prototype"}',
  );
  const entry = testEntry(CONTRACT_START, { headers });
  t.ok(Object.hasOwn(entry.headers, '__proto__'), 'fixture has an own "__proto__" header');
  await roundTrip(t, entry);
  const decoded = await decodeEntry(await encodeEntry(entry, NO_COMPRESSION));
  t.ok(Array.isArray(decoded?.headers['x-one-item-array']));
  t.same(decoded?.headers['x-empty-array'], []);
  t.equal(Object.getPrototypeOf(decoded?.headers), Object.prototype, 'the prototype is untouched');
  t.equal(Object.getOwnPropertyDescriptor(decoded?.headers, '__proto__')?.value, 'not a prototype');
});

t.test('round-trips unicode in path, tags, key and header values', async (t) => {
  await roundTrip(
    t,
    testEntry(CONTRACT_START, {
      key: 'jira:sess:ключ-🔑',
      path: "/rest/api/2/search?jql=project%3D%22Compañía%22&q=日本語 🚀",
      tags: ['Compañía:ü', '日本語', '🚀', ''],
      headers: { 'x-note': 'naïve – “quoted” 😀' },
    }),
  );
});

t.test('round-trips an empty body, no tags and no headers', async (t) => {
  await roundTrip(t, testEntry(CONTRACT_START, { body: Buffer.alloc(0), tags: [], headers: {} }), { compressAboveBytes: 0 });
});

t.test('round-trips every scope, odd statuses and fractional or distant timestamps', async (t) => {
  for (const scope of ['authorization', 'session', 'shared'] as const) {
    await roundTrip(t, testEntry(CONTRACT_START, { scope }));
  }
  await roundTrip(t, testEntry(CONTRACT_START, { status: 599, storedAt: 1.5, expiresAt: 8_640_000_000_000_000, staleUntil: 8_640_000_000_000_000 }));
});

t.test('a 5 MB body is compressed (flag set) and round-trips', async (t) => {
  const body = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
  const envelope = await roundTrip(t, testEntry(CONTRACT_START, { body }));
  t.equal(envelope[FLAGS_OFFSET]! & 1, 1, 'compressed flag set');
  t.ok(envelope.length < body.length / 10, `stored in ${envelope.length} bytes`);
});

t.test('a compressible body at or below the threshold is stored raw', async (t) => {
  const body = Buffer.alloc(8 * 1024, 'a');
  const envelope = await roundTrip(t, testEntry(CONTRACT_START, { body }));
  t.equal(envelope[FLAGS_OFFSET]! & 1, 0, 'not compressed');
  t.ok(envelope.length > body.length);
});

t.test('compression is skipped when it does not make the body smaller', async (t) => {
  const body = randomBytes(64 * 1024);
  const envelope = await roundTrip(t, testEntry(CONTRACT_START, { body }), { compressAboveBytes: 0 });
  t.equal(envelope[FLAGS_OFFSET]! & 1, 0, 'random bytes stay raw');
  const raw = await encodeEntry(testEntry(CONTRACT_START, { body }), NO_COMPRESSION);
  t.ok(envelope.length <= raw.length + 64, 'no bigger than the raw envelope');
});

t.test('a body the upstream already content-encoded is not compressed again', async (t) => {
  const body = Buffer.alloc(64 * 1024, 'a');
  const envelope = await roundTrip(t, testEntry(CONTRACT_START, { body, headers: { 'content-encoding': 'gzip' } }), { compressAboveBytes: 0 });
  t.equal(envelope[FLAGS_OFFSET]! & 1, 0);
});

t.test('the envelope records the logical entry size at a fixed offset', async (t) => {
  const body = Buffer.alloc(100_000, 'x');
  const entry = testEntry(CONTRACT_START, { body });
  const raw = await encodeEntry(entry, NO_COMPRESSION);
  const compressed = await encodeEntry(entry, COMPRESS_ABOVE_8K);
  t.equal(envelopeEntryBytes(raw.subarray(0, ENTRY_BYTES_OFFSET + 4)), raw.length, 'raw: the envelope length');
  t.equal(envelopeEntryBytes(compressed.subarray(0, ENTRY_BYTES_OFFSET + 4)), raw.length, 'compressed: the raw envelope length');
  t.ok(compressed.length < 1_000);
  t.equal(envelopeEntryBytes(Buffer.from([ENTRY_FORMAT_VERSION + 1, 0, 0, 0, 0, 0, 0, 1])), undefined, 'other version');
  t.equal(envelopeEntryBytes(Buffer.alloc(0)), undefined, 'missing key (empty GETRANGE)');
});

t.test('an unknown format version decodes to undefined', async (t) => {
  const envelope = await encodeEntry(testEntry(CONTRACT_START), NO_COMPRESSION);
  for (const version of [0, ENTRY_FORMAT_VERSION + 1, 255]) {
    const other = Buffer.from(envelope);
    other[0] = version;
    t.equal(await decodeEntry(other), undefined, `version ${version}`);
  }
});

t.test('unknown flag bits decode to undefined', async (t) => {
  const envelope = await encodeEntry(testEntry(CONTRACT_START), NO_COMPRESSION);
  const other = Buffer.from(envelope);
  other[FLAGS_OFFSET] = 0x02;
  t.equal(await decodeEntry(other), undefined);
});

t.test('every truncation of a valid envelope decodes to undefined', async (t) => {
  const plain = await encodeEntry(testEntry(CONTRACT_START), NO_COMPRESSION);
  const compressed = await encodeEntry(testEntry(CONTRACT_START, { body: jsonBody(20_000) }), COMPRESS_ABOVE_8K);
  t.equal(compressed[FLAGS_OFFSET]! & 1, 1);
  let undefinedCount = 0;
  for (const envelope of [plain, compressed]) {
    for (let length = 0; length < envelope.length; length++) {
      if ((await decodeEntry(envelope.subarray(0, length))) === undefined) undefinedCount++;
      else t.fail(`a ${length}-byte prefix of ${envelope.length} decoded`);
    }
  }
  t.equal(undefinedCount, plain.length + compressed.length);
  const longer = Buffer.concat([plain, Buffer.from([0])]);
  t.equal(await decodeEntry(longer), undefined, 'a trailing byte is rejected too');
});

t.test('garbage never throws and decodes to undefined', async (t) => {
  const samples: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('{"key":"x","body":"eyJpZCI6MX0="}'),
    Buffer.alloc(64, 0xff),
    Buffer.alloc(64, 0),
  ];
  for (let i = 0; i < 2_000; i++) {
    const junk = randomBytes(1 + (i % 300));
    junk[0] = ENTRY_FORMAT_VERSION;
    junk[1] = i % 2;
    samples.push(junk);
  }
  const valid = await encodeEntry(testEntry(CONTRACT_START, { body: jsonBody(20_000) }), COMPRESS_ABOVE_8K);
  for (let i = 0; i < 500; i++) {
    const flipped = Buffer.from(valid);
    const at = ENTRY_BYTES_OFFSET + Math.floor(Math.random() * (flipped.length - ENTRY_BYTES_OFFSET));
    flipped[at] = flipped[at]! ^ (1 + Math.floor(Math.random() * 255));
    samples.push(flipped);
  }
  let decodedJunk = 0;
  for (const sample of samples) {
    const result = await decodeEntry(sample);
    if (result !== undefined) decodedJunk++;
  }
  // A flipped byte inside a string or timestamp is still a well-formed envelope; the point is that nothing throws.
  t.pass(`${samples.length} garbage buffers decoded without throwing (${decodedJunk} still well-formed)`);
  t.equal(await decodeEntry('not a buffer' as unknown as Buffer), undefined, 'a non-Buffer');
});

t.test('encodeEntry rejects what it cannot represent', async (t) => {
  await t.rejects(encodeEntry(testEntry(CONTRACT_START, { status: 70_000 }), NO_COMPRESSION), TypeError);
  await t.rejects(encodeEntry(testEntry(CONTRACT_START, { scope: 'bogus' as 'shared' }), NO_COMPRESSION), TypeError);
});

t.test('the envelope is smaller than the JSON + base64 equivalent', async (t) => {
  const entry = testEntry(CONTRACT_START, {
    key: 'salesforce:auth:3q2-7wEAAAAAAAAAAAAAAA:Yk8pPxF2n5o1W0mJvZ3b4c6d8e0f2g4h6i8j0k2l4m6',
    upstream: 'salesforce',
    path: '/services/data/v59.0/sobjects/Account/001000000000001AAA',
    headers: {
      'content-type': 'application/json;charset=UTF-8',
      'sforce-limit-info': 'api-usage=25/15000',
      vary: 'Accept-Encoding',
      date: 'Mon, 01 Jan 2026 00:00:00 GMT',
    },
    tags: ['sf:Account:001000000000001AAA', 'sf:Account'],
    body: jsonBody(2_048),
  });
  const json = Buffer.from(JSON.stringify({ ...entry, v: ENTRY_FORMAT_VERSION, body: entry.body.toString('base64') }));
  const raw = await encodeEntry(entry, NO_COMPRESSION);
  const compressed = await encodeEntry(entry, { compressAboveBytes: 1024 });
  t.comment(`2 KB entry: JSON+base64 ${json.length} B, envelope raw ${raw.length} B, envelope compressed ${compressed.length} B`);
  t.ok(raw.length < json.length, `raw envelope ${raw.length} < JSON ${json.length}`);
  t.ok(raw.length < entry.body.length + 400, 'metadata overhead is small');
  t.ok(compressed.length < raw.length / 2, `compressed ${compressed.length} < half of raw`);
});
