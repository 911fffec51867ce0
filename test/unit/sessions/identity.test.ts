import t from 'tap';
import { requestIdentity } from '../../../src/sessions/identity.js';

t.test('an anonymous request has neither credential nor session token', async (t) => {
  t.same(requestIdentity({ accept: '*/*' }, 'x-session-token'), { credential: undefined, sessionToken: undefined });
});

t.test('the credential is the Authorization header', async (t) => {
  t.equal(requestIdentity({ authorization: 'Bearer abc' }, 'x-session-token').credential, 'Bearer abc');
});

t.test('the credential falls back to the Cookie header', async (t) => {
  t.equal(requestIdentity({ cookie: 'sid=1; theme=dark' }, 'x-session-token').credential, 'sid=1; theme=dark');
});

t.test('Authorization is preferred over Cookie', async (t) => {
  t.equal(requestIdentity({ authorization: 'Bearer abc', cookie: 'sid=1' }, 'x-session-token').credential, 'Bearer abc');
});

t.test('repeated Authorization values are joined', async (t) => {
  t.equal(requestIdentity({ authorization: ['Bearer a', 'Bearer b'] }, 'x-session-token').credential, 'Bearer a, Bearer b');
});

t.test('the session token comes from the configured header', async (t) => {
  t.equal(requestIdentity({ 'x-session-token': 'tok' }, 'x-session-token').sessionToken, 'tok');
});

t.test('the session header name is configurable', async (t) => {
  const headers = { 'x-session-token': 'default', 'x-app-session': 'custom' };
  t.equal(requestIdentity(headers, 'x-app-session').sessionToken, 'custom');
});

t.test('the default header is ignored when another session header is configured', async (t) => {
  t.equal(requestIdentity({ 'x-session-token': 'tok' }, 'x-app-session').sessionToken, undefined);
});

t.test('the session token is independent of the credential', async (t) => {
  t.same(requestIdentity({ authorization: 'Bearer a', 'x-session-token': 's' }, 'x-session-token'), {
    credential: 'Bearer a',
    sessionToken: 's',
  });
});
