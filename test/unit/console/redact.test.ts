import t from 'tap';
import { REDACTED, redactBody } from '../../../console/src/redact.js';

t.test('JSON bodies: values under credential-like names are replaced, at any depth', async (t) => {
  const body = JSON.stringify({ access_token: 'T1', refresh_token: 'T2', id: 7, author: 'kept', apiKey: 'K', nested: [{ Password: 'P', name: 'n', session: { sid: 'x' } }], instance_url: 'https://x' });
  const { text, redacted } = redactBody(body);
  const parsed = JSON.parse(text);
  t.equal(parsed.access_token, REDACTED);
  t.equal(parsed.refresh_token, REDACTED);
  t.equal(parsed.apiKey, REDACTED);
  t.equal(parsed.nested[0].Password, REDACTED);
  t.equal(parsed.author, 'kept', 'author is not auth');
  t.equal(parsed.id, 7);
  t.same(parsed.nested[0].session, { sid: 'x' }, 'objects are walked, not blanked');
  t.equal(redacted, 4);
  t.notMatch(text, /T1|T2|"K"|"P"/);
});

t.test('text bodies: name=value pairs and bearer tokens', async (t) => {
  const { text, redacted } = redactBody('ok=1&access_token=abc123&x=2\nAuthorization: Bearer eyJhbGciOi.x.y\npassword: "hunter2"');
  t.equal(text, `ok=1&access_token=${REDACTED}&x=2\nAuthorization: Bearer ${REDACTED}\npassword: "${REDACTED}"`);
  t.equal(redacted, 3);
  t.same(redactBody('plain text'), { text: 'plain text', redacted: 0 });
});
