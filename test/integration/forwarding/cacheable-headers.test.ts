import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../../../src/config/load.js';
import { PROXY_USER_AGENT } from '../../../src/proxy/headers.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type UpstreamHandler } from '../../helpers/fake-upstream.js';

/** A reflector: the answer is the request headers the upstream received. */
const reflect: UpstreamHandler = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ headers: req.headers }));
};

/** The shipped Salesforce upstream (its preset's vary list and media types), pointed at `target`. */
function shippedSalesforce(target: string) {
  const shipped = fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url));
  const { config } = loadConfig({ path: shipped, env: { SALESFORCE_URL: target, CACHE_KEY_SECRET: 'k' } });
  const salesforce = config.upstreams.find((u) => u.name === 'salesforce')!;
  return { ...salesforce, name: 'api', prefix: '/api', target, rules: [...salesforce.rules] };
}

const POISONING: ReadonlyArray<readonly [string, string]> = [
  ['x-forwarded-host', 'evil.example'],
  ['forwarded', 'host=evil.example;proto=http'],
  ['x-original-url', '/services/data/v60.0/sobjects/User'],
  ['x-http-method-override', 'DELETE'],
  ['accept-language', 'fr-FR'],
  ['x-forwarded-for', '203.0.113.9'],
  ['x-anything', 'else'],
];

t.test('issue 11: an unkeyed header never reaches the upstream on a cacheable read, so it cannot poison the entry', async (t) => {
  const upstream = await startFakeUpstream(reflect);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));

  for (const [name, value] of POISONING) {
    await t.test(name, async (t) => {
      const path = `/api/items/${name}`;
      const before = upstream.received.length;
      // Anonymous: every anonymous caller shares this partition.
      const poisoner = await proxy.fetch(path, { headers: { [name]: value } });
      t.equal(poisoner.headers['x-cache'], 'MISS');
      t.equal(upstream.received.length, before + 1);
      t.equal(upstream.received.at(-1)!.headers[name], undefined, `${name} was not forwarded`);
      const victim = await proxy.fetch(path);
      t.equal(victim.headers['x-cache'], 'HIT', 'the victim shares the entry, which is clean');
      t.notMatch(victim.body.toString(), value);
    });
  }
});

t.test('issue 11: the Salesforce preset keys Sforce-Query-Options, so a batch size is its own entry', async (t) => {
  const upstream = await startFakeUpstream(reflect);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([shippedSalesforce(upstream.url)]));
  const path = '/api/services/data/v60.0/query?q=SELECT+Id+FROM+Account';

  const small = await proxy.fetch(path, { headers: { 'sforce-query-options': 'batchSize=200' } });
  t.equal(small.headers['x-cache'], 'MISS');
  t.equal(upstream.received.at(-1)!.headers['sforce-query-options'], 'batchSize=200', 'keyed headers are forwarded');
  const plain = await proxy.fetch(path);
  t.equal(plain.headers['x-cache'], 'MISS', 'a caller without it does not get the 200-record page');
  t.equal(upstream.received.at(-1)!.headers['sforce-query-options'], undefined);
  t.equal((await proxy.fetch(path, { headers: { 'sforce-query-options': 'batchSize=200' } })).headers['x-cache'], 'HIT');
  t.equal(upstream.received.length, 2);

  for (const [name, value] of [['sforce-call-options', 'defaultNamespace=battle'], ['x-prettyprint', '1'], ['accept-language', 'fr']] as const) {
    const response = await proxy.fetch(path, { headers: { [name]: value } });
    t.equal(response.headers['x-cache'], 'MISS', `${name} is keyed`);
    t.equal(upstream.received.at(-1)!.headers[name], value, `${name} is forwarded`);
  }
  const dropped = await proxy.fetch(path, { headers: { 'x-forwarded-host': 'evil.example', 'sforce-auto-assign': 'FALSE' } });
  t.equal(dropped.headers['x-cache'], 'HIT', 'headers Salesforce does not read on reads change nothing');
});

t.test('a cacheable read sends only keyed headers, credentials, trace context, the proxy User-Agent and the request id', async (t) => {
  const upstream = await startFakeUpstream(reflect);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', vary: ['x-tenant'] }] }]));
  await proxy.fetch('/api/items/1', {
    headers: {
      authorization: 'Bearer a', cookie: 'c=1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-tenant': 't1',
      'user-agent': 'curl/8.5.0', 'accept-encoding': 'compress', 'cache-control': 'max-age=60', 'x-debug': '1',
    },
  });
  const sent = upstream.received.at(-1)!.headers;
  // Accept-Encoding, if any, is the proxy's own (its requestHeaders plan), never the client's.
  t.not(sent['accept-encoding'], 'compress');
  const fromClient = Object.keys(sent).filter((name) => name !== 'accept-encoding').sort();
  t.strictSame(fromClient, ['authorization', 'connection', 'cookie', 'host', 'traceparent', 'user-agent', 'x-request-id', 'x-tenant']);
  t.equal(sent['user-agent'], PROXY_USER_AGENT);
});

t.test('pass-through requests keep forwarding the client headers', async (t) => {
  const upstream = await startFakeUpstream(reflect);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }, { path: '/live', cache: false }] }]));
  for (const path of ['/api/live', '/api/not-ruled']) {
    const response = await proxy.fetch(path, { headers: { 'x-forwarded-host': 'h.example', 'user-agent': 'curl/8.5.0' } });
    t.equal(response.headers['x-cache'], 'BYPASS', path);
    t.equal(upstream.received.at(-1)!.headers['x-forwarded-host'], 'h.example', path);
    t.equal(upstream.received.at(-1)!.headers['user-agent'], 'curl/8.5.0', path);
  }
});

t.test('the upstream requestHeaders.add list is always sent on cacheable reads', async (t) => {
  const upstream = await startFakeUpstream(reflect);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, requestHeaders: { add: { 'accept-encoding': 'identity', 'x-api-key': 'server' }, remove: [] }, rules: [{ path: '/items/:id' }] }]),
  );
  await proxy.fetch('/api/items/1', { headers: { 'accept-encoding': 'br', 'x-api-key': 'client' } });
  const sent = upstream.received.at(-1)!.headers;
  t.equal(sent['accept-encoding'], 'identity');
  t.equal(sent['x-api-key'], 'server');
});
