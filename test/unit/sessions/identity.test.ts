import t from 'tap';
import type { SessionsConfig } from '../../../src/config/types.js';
import {
  cookieValue,
  identityHeadersToStrip,
  readSessionToken,
  readUserIdentifier,
  requestIdentity,
  validateSessionToken,
} from '../../../src/sessions/identity.js';
import { testSessionsConfig } from '../../helpers/config.js';

const SESSIONS: SessionsConfig = testSessionsConfig;
const withCookie: SessionsConfig = { ...SESSIONS, cookie: 'sid' };

t.test('requestIdentity', async (t) => {
  t.test('an anonymous request has no credential, session token or user', async (t) => {
    t.same(requestIdentity({ accept: '*/*' }, SESSIONS), { credential: undefined, sessionToken: undefined, userIdentifier: null });
  });

  t.test('the credential is the Authorization header, tagged with its source', async (t) => {
    t.equal(requestIdentity({ authorization: 'Bearer abc' }, SESSIONS).credential, 'authorization:"Bearer abc"');
  });

  t.test('a Cookie header is a credential of its own source', async (t) => {
    t.equal(requestIdentity({ cookie: 'sid=1; theme=dark' }, SESSIONS).credential, 'cookie:"sid=1; theme=dark"');
  });

  t.test('issue 11: a Cookie equal to an Authorization value is a different credential', async (t) => {
    const value = 'Bearer victim-token';
    t.not(requestIdentity({ cookie: value }, SESSIONS).credential, requestIdentity({ authorization: value }, SESSIONS).credential);
  });

  t.test('both headers are the credential when both are sent (both go upstream)', async (t) => {
    const both = requestIdentity({ authorization: 'Bearer abc', cookie: 'sid=1' }, SESSIONS).credential;
    t.equal(both, 'authorization:"Bearer abc" cookie:"sid=1"');
    t.not(both, requestIdentity({ authorization: 'Bearer abc' }, SESSIONS).credential);
    t.not(both, requestIdentity({ authorization: 'Bearer abc', cookie: 'sid=2' }, SESSIONS).credential);
  });

  t.test('no header value can spell another pair of values', async (t) => {
    const forged = requestIdentity({ authorization: 'a" cookie:"b' }, SESSIONS).credential;
    t.not(forged, requestIdentity({ authorization: 'a', cookie: 'b' }, SESSIONS).credential);
  });

  t.test('repeated Authorization values are joined', async (t) => {
    t.equal(requestIdentity({ authorization: ['Bearer a', 'Bearer b'] }, SESSIONS).credential, 'authorization:"Bearer a, Bearer b"');
  });

  t.test('the session token comes from the configured header', async (t) => {
    t.equal(requestIdentity({ 'x-session-token': 'tok' }, SESSIONS).sessionToken, 'tok');
  });

  t.test('the session header name is configurable', async (t) => {
    const headers = { 'x-session-token': 'default', 'x-app-session': 'custom' };
    t.equal(requestIdentity(headers, { ...SESSIONS, header: 'x-app-session' }).sessionToken, 'custom');
  });

  t.test('the default header is ignored when another session header is configured', async (t) => {
    t.equal(requestIdentity({ 'x-session-token': 'tok' }, { ...SESSIONS, header: 'x-app-session' }).sessionToken, undefined);
  });

  t.test('a configured header name in capitals still matches (Node lower-cases request headers)', async (t) => {
    t.equal(requestIdentity({ 'x-app-session': 'tok' }, { ...SESSIONS, header: 'X-App-Session' }).sessionToken, 'tok');
  });

  t.test('the session token falls back to the configured cookie', async (t) => {
    t.equal(requestIdentity({ cookie: 'theme=dark; sid=abc' }, withCookie).sessionToken, 'abc');
  });

  t.test('the session token is independent of the credential, the user of both', async (t) => {
    t.same(requestIdentity({ authorization: 'Bearer a', 'x-session-token': 's', 'x-user-id': 'u1' }, SESSIONS), {
      credential: 'authorization:"Bearer a"',
      sessionToken: 's',
      userIdentifier: 'u1',
    });
  });
});

t.test('readSessionToken', async (t) => {
  t.test('reports the header as the source', async (t) => {
    t.same(readSessionToken({ 'x-session-token': 'tok' }, withCookie), { token: 'tok', source: 'header' });
  });

  t.test('the header wins over the cookie', async (t) => {
    t.same(readSessionToken({ 'x-session-token': 'h', cookie: 'sid=c' }, withCookie), { token: 'h', source: 'header' });
  });

  t.test('falls back to the cookie when the header is absent or empty', async (t) => {
    t.same(readSessionToken({ cookie: 'sid=c' }, withCookie), { token: 'c', source: 'cookie' });
    t.same(readSessionToken({ 'x-session-token': '', cookie: 'sid=c' }, withCookie), { token: 'c', source: 'cookie' });
  });

  t.test('no cookie fallback unless a cookie name is configured', async (t) => {
    t.same(readSessionToken({ cookie: 'sid=c' }, SESSIONS), { token: undefined, source: null });
  });

  t.test('neither header nor cookie: no token', async (t) => {
    t.same(readSessionToken({ cookie: 'other=1' }, withCookie), { token: undefined, source: null });
    t.same(readSessionToken({}, withCookie), { token: undefined, source: null });
  });

  t.test('an empty cookie value is no token', async (t) => {
    t.same(readSessionToken({ cookie: 'sid=; a=1' }, withCookie), { token: undefined, source: null });
  });

  t.test('a repeated header is joined, and so fails validation', async (t) => {
    const { token } = readSessionToken({ 'x-session-token': ['a', 'b'] }, SESSIONS);
    t.equal(token, 'a, b');
    t.equal(validateSessionToken(token!), 'bad_characters');
  });
});

t.test('cookieValue', async (t) => {
  const cases: Array<[string | undefined, string | undefined, string]> = [
    [undefined, undefined, 'no Cookie header'],
    ['sid=abc', 'abc', 'single pair'],
    ['a=1; sid=abc; b=2', 'abc', 'among others'],
    ['a=1;sid=abc', 'abc', 'no space after ;'],
    ['  sid = abc  ', 'abc', 'spaces trimmed'],
    ['sid="abc"', 'abc', 'quoted value unquoted'],
    ['sid=a=b', 'a=b', 'value keeps later ='],
    ['sid=first; sid=second', 'first', 'first pair wins'],
    ['xsid=1; sidx=2', undefined, 'name must match exactly'],
    ['SID=1', undefined, 'names are case-sensitive'],
    ['sid; other=1', undefined, 'a pair without = is skipped'],
    ['sid=%41', '%41', 'no percent-decoding'],
  ];
  for (const [header, expected, name] of cases) t.equal(cookieValue(header, 'sid'), expected, name);
});

t.test('validateSessionToken', async (t) => {
  t.equal(validateSessionToken('a'.repeat(256)), 'ok', '256 characters');
  t.equal(validateSessionToken('a'.repeat(257)), 'too_long', '257 characters');
  t.equal(validateSessionToken('é'.repeat(300)), 'too_long', 'length is checked first');
  const bad: Array<[string, string]> = [
    ['a b', 'space'],
    ['a\tb', 'tab'],
    ['a\u007fb', 'DEL'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'newline'],
    ['café', 'é'],
    ['a\u0080b', 'C1 control'],
    ['tok\u{1F600}', 'emoji'],
    ['\u00a0', 'no-break space'],
  ];
  for (const [token, name] of bad) t.equal(validateSessionToken(token), 'bad_characters', name);
  let visible = '';
  for (let code = 0x21; code <= 0x7e; code++) {
    t.equal(validateSessionToken(String.fromCharCode(code)), 'ok', `0x${code.toString(16)}`);
    visible += String.fromCharCode(code);
  }
  t.equal(validateSessionToken(visible), 'ok', 'all of 0x21-0x7E at once');
  t.equal(validateSessionToken('0'.repeat(64)), 'ok', 'a minted token');
});

t.test('readUserIdentifier', async (t) => {
  const read = (value: string | string[] | undefined, config = SESSIONS) => readUserIdentifier({ 'x-user-id': value }, config);
  t.equal(read(undefined), null, 'absent');
  t.equal(read('alice@example.com'), 'alice@example.com', 'as sent');
  t.equal(read('  alice  '), 'alice', 'trimmed');
  t.equal(read('   '), null, 'blank');
  t.equal(read('a'.repeat(300)), 'a'.repeat(256), 'cut to 256 characters');
  t.equal(read('a'.repeat(255) + '\u{1F600}'), 'a'.repeat(255), 'never cut inside a surrogate pair');
  t.equal(read('Zoë'), 'Zoë', 'non-ASCII letters are kept');
  t.equal(read('ali\u0000ce'), null, 'NUL');
  t.equal(read('alice\r\nforged: 1'), null, 'CR LF');
  t.equal(read('ali\u007fce'), null, 'DEL');
  t.equal(read('ali\u0085ce'), null, 'C1 control');
  t.equal(readUserIdentifier({ 'x-tenant-user': 'bob' }, { ...SESSIONS, userHeader: 'x-tenant-user' }), 'bob', 'header name is configurable');
});

t.test('identityHeadersToStrip', async (t) => {
  t.same(identityHeadersToStrip({ ...SESSIONS, header: 'X-App-Session' }), ['x-app-session', 'x-user-id'], 'both, lower-cased');
  t.same(identityHeadersToStrip({ ...SESSIONS, forwardIdentityHeaders: true }), [], 'none when forwarded');
});
