import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../../../src/config/load.js';
import { baseConfig, load, problemsOf, tempDir, writeYaml } from './fixtures/helpers.js';

const SHIPPED = fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url));

t.test('a preset adds the headers its upstream reads to the vary list, and declares media types', async (t) => {
  const presets = tempDir(t);
  writeYaml(t, { vary: ['X-Api-Options'], mediaTypes: ['Application/JSON', 'application/xml'], rules: [{ path: '/a' }] }, presets, 'custom.yaml');
  const config = baseConfig();
  config.upstreams[0]!['preset'] = 'custom';
  const upstream = load(t, config, {}, presets).config.upstreams[0]!;
  t.strictSame(upstream.vary, ['accept', 'x-api-options']);
  t.strictSame(upstream.mediaTypes, ['application/json', 'application/xml']);
});

t.test("an upstream's own vary is kept beside its preset's; its own mediaTypes replace the preset's", async (t) => {
  const presets = tempDir(t);
  writeYaml(t, { vary: ['x-api-options'], mediaTypes: ['application/json'], rules: [] }, presets, 'custom.yaml');
  const config = baseConfig();
  Object.assign(config.upstreams[0]!, { preset: 'custom', vary: ['accept', 'x-tenant'], mediaTypes: [] });
  const upstream = load(t, config, {}, presets).config.upstreams[0]!;
  t.strictSame(upstream.vary, ['accept', 'x-tenant', 'x-api-options']);
  t.strictSame(upstream.mediaTypes, [], 'an empty list turns negotiation off');
});

t.test('mediaTypes must be plain media types', async (t) => {
  const config = baseConfig();
  config.upstreams[0]!['mediaTypes'] = ['application/json', '*/*', 'text/html; charset=utf-8'];
  const problems = problemsOf(t, config);
  t.match(problems.join('\n'), /upstreams\[0\]\.mediaTypes\[1\]: must be a media type/);
});

t.test('the shipped presets key what Salesforce and Jira read, and negotiate Accept', async (t) => {
  const { config } = loadConfig({ path: SHIPPED, env: { SALESFORCE_URL: 'https://acme.my.salesforce.com', JIRA_URL: 'https://acme.atlassian.net', CACHE_KEY_SECRET: 'k' } });
  const [sf, jira] = config.upstreams;
  t.strictSame(sf?.vary, ['accept', 'sforce-query-options', 'sforce-call-options', 'x-prettyprint', 'accept-language']);
  t.strictSame(sf?.mediaTypes, ['application/json', 'application/xml']);
  t.strictSame(jira?.vary, ['accept', 'accept-language', 'x-force-accept-language', 'x-atlassian-force-account-id', 'x-experimentalapi']);
  t.strictSame(jira?.mediaTypes, ['application/json']);
  t.notOk(sf?.vary.includes('accept-encoding'), 'the content coding is not keyed');
});
