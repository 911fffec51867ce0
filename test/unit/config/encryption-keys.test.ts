import { randomBytes } from 'node:crypto';
import t from 'tap';
import { KeyRingError, parseEncryptionKeys } from '../../../src/config/encryption-keys.js';

const B64 = randomBytes(32).toString('base64');
const HEX = randomBytes(32).toString('hex');

t.test('base64, URL-safe base64 and hex keys parse; ids are given or a fingerprint', async (t) => {
  const [current, older, named] = parseEncryptionKeys(B64, `${HEX}, old-1:${randomBytes(32).toString('base64url')}`);
  t.equal(current!.aes.length, 32);
  t.match(current!.id, /^k[0-9a-f]{12}$/);
  t.notOk(current!.id.includes(B64.slice(0, 6)));
  t.equal(older!.aes.toString('hex'), HEX);
  t.equal(named!.id, 'old-1');
  t.equal(parseEncryptionKeys(B64, null)[0]!.id, current!.id, 'the fingerprint is stable');
});

t.test('malformed keys throw a precise error that never holds the key', async (t) => {
  const cases: Array<[string, string | null, RegExp]> = [
    [B64.slice(0, 40), null, /CACHE_ENCRYPTION_KEY .*32 bytes.*got 40 characters/],
    [randomBytes(16).toString('hex'), null, /got 32 characters/],
    [`bad id!:${B64}`, null, /key id/],
    [B64, `${HEX},short`, /CACHE_ENCRYPTION_KEYS .*entry 2.*got 5 characters/],
    [`a:${B64}`, `a:${HEX}`, /key id "a" names two different keys/],
  ];
  for (const [current, older, message] of cases) {
    let thrown: unknown;
    try {
      parseEncryptionKeys(current, older);
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof KeyRingError, `${message} is a KeyRingError`);
    t.match((thrown as Error).message, message);
    for (const secret of [current, older ?? '', B64, HEX]) {
      if (secret.length > 8) t.notOk((thrown as Error).message.includes(secret.slice(-12)), 'no key material in the message');
    }
  }
});
