import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import type { SalesforcePubSubConfig } from '../../../../src/config/types.js';
import { AuthError, jwtAssertion, parseTokenResponse, SalesforceAuth } from '../../../../src/hooks/pubsub/auth.js';
import { FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_ORG_ID, startFakePubSub } from '../../../helpers/fake-pubsub.js';

const base = (loginUrl: string, auth: SalesforcePubSubConfig['auth']): SalesforcePubSubConfig => ({
  clientId: FAKE_CLIENT_ID,
  auth,
  loginUrl,
  endpoint: '127.0.0.1:1',
  insecure: true,
  topic: '/data/ChangeEvents',
  upstream: 'salesforce',
  batchSize: 100,
  replayPreset: 'LATEST',
});

t.test('client credentials: one token, shared by concurrent callers, fetched again after invalidate()', async (t) => {
  const fake = await startFakePubSub();
  t.teardown(() => fake.close());
  const auth = new SalesforceAuth(base(fake.loginUrl, { flow: 'client_credentials', clientSecret: FAKE_CLIENT_SECRET }));
  const [one, two] = await Promise.all([auth.session(), auth.session()]);
  t.equal(one, two);
  t.match(one, { instanceUrl: fake.loginUrl, tenantId: FAKE_ORG_ID, accessToken: /^00D!fake-/ });
  t.equal(fake.stats.tokens, 1);
  auth.invalidate();
  t.not((await auth.session()).accessToken, one.accessToken);
  t.equal(fake.stats.tokens, 2);
});

t.test('a refused secret is an AuthError naming the error, never the secret; the next call tries again', async (t) => {
  const fake = await startFakePubSub();
  t.teardown(() => fake.close());
  const auth = new SalesforceAuth(base(fake.loginUrl, { flow: 'client_credentials', clientSecret: 'wrong-secret' }));
  const err = await auth.session().catch((e: unknown) => e);
  t.type(err, AuthError);
  t.match((err as Error).message, /invalid_client: invalid client credentials/);
  t.notMatch((err as Error).message, /wrong-secret/);
  await t.rejects(auth.session(), AuthError, 'not cached');
});

t.test('JWT bearer: an RS256 assertion signed with the private key (inline with literal \\n, or from a file)', async (t) => {
  const fake = await startFakePubSub();
  t.teardown(() => fake.close());
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  fake.jwtPublicKey = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const jwt = (key: { privateKey: string | null; privateKeyFile: string | null }) =>
    new SalesforceAuth(base(fake.loginUrl, { flow: 'jwt_bearer', username: 'integration@acme.example', audience: 'https://login.salesforce.com', ...key }));
  t.match(await jwt({ privateKey: pem.replace(/\n/g, '\\n'), privateKeyFile: null }).session(), { tenantId: FAKE_ORG_ID });
  const dir = t.testdir({ 'sf.key': pem });
  t.match(await jwt({ privateKey: null, privateKeyFile: `${dir}/sf.key` }).session(), { tenantId: FAKE_ORG_ID });
  await t.rejects(jwt({ privateKey: null, privateKeyFile: `${dir}/missing.key` }).session(), /privateKeyFile: cannot read it \(ENOENT\)/);
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await t.rejects(jwt({ privateKey: other, privateKeyFile: null }).session(), /invalid_grant: invalid assertion signature/);

  const [head, claims] = jwtAssertion({ issuer: 'k', subject: 'u', audience: 'https://login.salesforce.com', privateKey: pem, nowMs: 1_700_000_000_000 }).split('.');
  t.same(JSON.parse(Buffer.from(head!, 'base64url').toString()), { alg: 'RS256', typ: 'JWT' });
  t.same(JSON.parse(Buffer.from(claims!, 'base64url').toString()), { iss: 'k', sub: 'u', aud: 'https://login.salesforce.com', exp: 1_700_000_180 });
  t.throws(() => jwtAssertion({ issuer: 'k', subject: 'u', audience: 'a', privateKey: 'not a key', nowMs: 0 }), AuthError);
});

t.test('token responses: the org id comes from the identity URL; what is missing is named', async (t) => {
  const ok = { access_token: 'T', instance_url: 'https://acme.my.salesforce.com', id: `https://login.salesforce.com/id/${FAKE_ORG_ID}/005000000000001AAA` };
  t.same(parseTokenResponse(200, JSON.stringify(ok), 'u'), { accessToken: 'T', instanceUrl: ok.instance_url, tenantId: FAKE_ORG_ID });
  t.throws(() => parseTokenResponse(200, JSON.stringify({ ...ok, access_token: '' }), 'u'), /without an access_token/);
  t.throws(() => parseTokenResponse(200, JSON.stringify({ ...ok, instance_url: 'acme' }), 'u'), /without an instance_url/);
  t.throws(() => parseTokenResponse(200, JSON.stringify({ ...ok, id: 'x' }), 'u'), /identity URL/);
  t.throws(() => parseTokenResponse(502, '<html>', 'u'), /refused the token request \(HTTP 502\)/);
});
