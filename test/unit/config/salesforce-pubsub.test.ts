import t from 'tap';
import { load, problemsOf } from './fixtures/helpers.js';

const upstreams = [{ name: 'salesforce', prefix: '/salesforce', target: 'https://sf.example.com', preset: 'salesforce' }];
const pubsub = (settings: Record<string, unknown>) => ({ upstreams, hooks: { salesforcePubSub: settings } });

t.test('off without a client id, whatever else is set', async (t) => {
  t.equal(load(t, pubsub({ clientSecret: 's', topic: '/data/AccountChangeEvent' })).config.hooks.salesforcePubSub, null);
  t.equal(load(t, pubsub({ clientId: '', clientSecret: 's' })).config.hooks.salesforcePubSub, null);
});

t.test('the JWT bearer flow: username and a key (inline or a file); the audience defaults to the login URL', async (t) => {
  const { config } = load(t, pubsub({ clientId: 'k', username: 'integration@acme.example', privateKeyFile: '/run/secrets/sf.key', loginUrl: 'https://test.salesforce.com/', batchSize: 50, replayPreset: 'EARLIEST', topic: '/data/Sidecache__chn' }));
  t.match(config.hooks.salesforcePubSub, {
    auth: { flow: 'jwt_bearer', username: 'integration@acme.example', audience: 'https://test.salesforce.com', privateKey: null, privateKeyFile: '/run/secrets/sf.key' },
    loginUrl: 'https://test.salesforce.com',
    batchSize: 50,
    replayPreset: 'EARLIEST',
    topic: '/data/Sidecache__chn',
  });
});

t.test('exactly one sign-in flow, complete', async (t) => {
  t.match(problemsOf(t, pubsub({ clientId: 'k' })), [/^hooks\.salesforcePubSub\.clientSecret: missing/]);
  t.match(problemsOf(t, pubsub({ clientId: 'k', clientSecret: 's', username: 'u', privateKey: 'p' })), [/not both/]);
  t.match(problemsOf(t, pubsub({ clientId: 'k', privateKey: 'p' })), [/^hooks\.salesforcePubSub\.username: missing/]);
  t.match(problemsOf(t, pubsub({ clientId: 'k', username: 'u' })), [/one of privateKey or privateKeyFile/]);
  t.match(problemsOf(t, pubsub({ clientId: 'k', username: 'u', privateKey: 'p', privateKeyFile: 'f' })), [/one of privateKey or privateKeyFile/]);
});

t.test('plaintext only to this host; a known upstream; bounded batches', async (t) => {
  t.match(problemsOf(t, pubsub({ clientId: 'k', clientSecret: 's', insecure: true })), [/^hooks\.salesforcePubSub\.insecure: plaintext gRPC is allowed only to 127\.0\.0\.1/]);
  t.doesNotThrow(() => load(t, pubsub({ clientId: 'k', clientSecret: 's', insecure: true, endpoint: '127.0.0.1:7443', loginUrl: 'http://127.0.0.1:8000' })));
  t.match(problemsOf(t, pubsub({ clientId: 'k', clientSecret: 's', loginUrl: 'http://login.example.com' })), [/loginUrl: must be https/]);
  t.match(problemsOf(t, pubsub({ clientId: 'k', clientSecret: 's', upstream: 'crm' })), [/^hooks\.salesforcePubSub\.upstream: no upstream is named "crm"/]);
  t.match(problemsOf(t, pubsub({ clientId: 'k', clientSecret: 's', batchSize: 500, topic: 'ChangeEvents', replayPreset: 'CUSTOM' })), [
    /^hooks\.salesforcePubSub\.topic: /,
    /^hooks\.salesforcePubSub\.batchSize: must be an integer from 1 to 100/,
    /^hooks\.salesforcePubSub\.replayPreset: must be one of LATEST, EARLIEST/,
  ]);
});
