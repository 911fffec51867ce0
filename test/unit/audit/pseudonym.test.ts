import t from 'tap';
import { erasedSession, erasedUser } from '../../../src/audit/pseudonym.js';

t.test('stand-ins are stable per secret and value, differ otherwise, and do not contain the value', async (t) => {
  t.equal(erasedUser('s', 'alice@example.com'), erasedUser('s', 'alice@example.com'));
  t.not(erasedUser('s', 'alice@example.com'), erasedUser('s', 'bob@example.com'));
  t.not(erasedUser('s', 'alice@example.com'), erasedUser('other', 'alice@example.com'));
  t.match(erasedUser('s', 'alice@example.com'), /^erased:[0-9a-f]{32}$/);
  t.notOk(erasedUser('s', 'alice').includes('alice'));
});

t.test('an erased session link is a UUID (v8), the same whatever the case of the original', async (t) => {
  const id = '5F0C6A2E-8D7B-4C1A-9E3F-2B4D6F8A0C1E';
  const standIn = erasedSession('s', id);
  t.match(standIn, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(standIn, erasedSession('s', id.toLowerCase()));
  t.not(standIn, id.toLowerCase());
});
