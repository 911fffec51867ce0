import t from 'tap';
import { load, problemsOf } from './fixtures/helpers.js';

const upstreams = [
  { name: 'salesforce', prefix: '/salesforce', target: 'https://sf.example.com', preset: 'salesforce' },
  { name: 'jira', prefix: '/jira', target: 'https://jira.example.com', preset: 'jira' },
];

t.test('every change feed is off by default', async (t) => {
  const { config } = load(t, { upstreams });
  t.strictSame(config.hooks, {
    maxBodyBytes: 1024 * 1024,
    jira: { secret: null, upstream: 'jira' },
    salesforce: { secret: null, organizationId: null, upstream: 'salesforce' },
    generic: { secret: null },
    salesforcePubSub: null,
  });
});

t.test('secrets and the org id come from the environment; empty means off', async (t) => {
  const hooks = {
    maxBodyBytes: '64KB',
    jira: { secret: '${JIRA_WEBHOOK_SECRET:-}' },
    salesforce: { secret: '${SALESFORCE_WEBHOOK_SECRET:-}', organizationId: '${SALESFORCE_ORG_ID:-}' },
    generic: { secret: '${SIDECACHE_HOOK_SECRET:-}' },
  };
  const { config } = load(t, { upstreams, hooks }, { JIRA_WEBHOOK_SECRET: 'j-secret', SALESFORCE_ORG_ID: '00D000000000001AAA' });
  t.strictSame(config.hooks, {
    maxBodyBytes: 64 * 1024,
    jira: { secret: 'j-secret', upstream: 'jira' },
    salesforce: { secret: null, organizationId: '00D000000000001AAA', upstream: 'salesforce' },
    generic: { secret: null },
    salesforcePubSub: null,
  });
});

t.test('an enabled feed must name a configured upstream', async (t) => {
  t.same(problemsOf(t, { upstreams, hooks: { jira: { secret: 'x', upstream: 'tracker' } } }), [
    'hooks.jira.upstream: no upstream is named "tracker" (configured: salesforce, jira)',
  ]);
  t.doesNotThrow(() => load(t, { upstreams, hooks: { jira: { upstream: 'tracker' } } }), 'a feed that is off names nothing');
});

t.test('bad shapes are refused, each on its own line', async (t) => {
  const problems = problemsOf(t, {
    upstreams,
    hooks: { maxBodyBytes: 'lots', salesforce: { secret: 's', organizationId: 'acme' }, generic: { secret: 's', extra: 1 } },
  });
  t.match(problems, [/^hooks\.maxBodyBytes: /, /^hooks\.salesforce\.organizationId: must be a 15- or 18-character Salesforce org id/, /^hooks\.generic\.extra: unknown key/]);
});

t.test('no upstream may be mounted at or below /hooks: it would shadow the change feeds, or be shadowed', async (t) => {
  const mounted = (prefix: string) => [...upstreams, { name: 'hooks', prefix, target: 'https://h.example.com' }];
  t.same(problemsOf(t, { upstreams: mounted('/hooks') }), ['upstreams[2].prefix: "/hooks" is reserved for the change feeds (POST /hooks/…); mount the upstream elsewhere']);
  t.same(problemsOf(t, { upstreams: mounted('/hooks/jira') }), ['upstreams[2].prefix: "/hooks/jira" is reserved for the change feeds (POST /hooks/…); mount the upstream elsewhere']);
  t.doesNotThrow(() => load(t, { upstreams: mounted('/hooksmith') }), 'a prefix that only starts with the same letters is fine');
  t.doesNotThrow(() => load(t, { upstreams: [{ ...upstreams[0]!, prefix: '/' }] }), 'an upstream at "/": the exact hook routes take precedence (README)');
});

t.test('the shipped proxy.config.yaml reads the secrets from the environment', async (t) => {
  const { loadConfig } = await import('../../../src/config/load.js');
  const { fileURLToPath } = await import('node:url');
  const path = fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url));
  const env = {
    JIRA_WEBHOOK_SECRET: 'j',
    SALESFORCE_WEBHOOK_SECRET: 's',
    SALESFORCE_ORG_ID: '00D000000000001',
    SIDECACHE_HOOK_SECRET: 'g',
  };
  t.strictSame(loadConfig({ path, env }).config.hooks, {
    maxBodyBytes: 1024 * 1024,
    jira: { secret: 'j', upstream: 'jira' },
    salesforce: { secret: 's', organizationId: '00D000000000001', upstream: 'salesforce' },
    generic: { secret: 'g' },
    salesforcePubSub: null,
  });
  t.strictSame(loadConfig({ path, env: {} }).config.hooks.jira.secret, null);
  const pubsub = loadConfig({ path, env: { SALESFORCE_PUBSUB_CLIENT_ID: 'key', SALESFORCE_PUBSUB_CLIENT_SECRET: 'secret', SALESFORCE_LOGIN_URL: 'https://acme.my.salesforce.com' } }).config.hooks.salesforcePubSub;
  t.strictSame(pubsub, {
    clientId: 'key',
    auth: { flow: 'client_credentials', clientSecret: 'secret' },
    loginUrl: 'https://acme.my.salesforce.com',
    endpoint: 'api.pubsub.salesforce.com:7443',
    insecure: false,
    topic: '/data/ChangeEvents',
    upstream: 'salesforce',
    batchSize: 100,
    replayPreset: 'LATEST',
  }, 'the subscriber turns on with its client id and secret from the environment');
});
