import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fetch as undiciFetch } from 'undici';
import { loadConfig } from '../../../src/config/load.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream, type UpstreamHandler } from '../../helpers/fake-upstream.js';

/** Answers with what it was asked: the raw URL, the raw body bytes (hex) and the Accept it got. */
const echo: UpstreamHandler = (req, res, body) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ url: req.url, body: body.toString('hex'), accept: req.headers['accept'] ?? null }));
};

t.test('issue 11: a query with a stray % and its encoded spelling are two entries', async (t) => {
  const upstream = await startFakeUpstream(echo);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/query' }] }]));
  const stray = "/api/query?q=SELECT+Name+FROM+Account+WHERE+Name+LIKE+'%41cme%'+LIMIT+7";
  const encoded = "/api/query?q=SELECT+Name+FROM+Account+WHERE+Name+LIKE+'%2541cme%25'+LIMIT+7";

  t.equal((await proxy.fetch(stray)).headers['x-cache'], 'MISS');
  const second = await proxy.fetch(encoded);
  t.equal(second.headers['x-cache'], 'MISS', 'not a HIT on the first answer');
  t.match(second.json(), { url: /LIKE\+(%27|')%2541cme%25(%27|')\+LIMIT/ }, 'the upstream got the query as sent');
  t.equal((await proxy.fetch(stray)).headers['x-cache'], 'HIT');
  t.equal((await proxy.fetch("/api/query?q=SELECT%20Name+FROM+Account+WHERE+Name+LIKE+%27%2541cme%25%27+LIMIT+7")).headers['x-cache'], 'HIT', 'equal bytes still share an entry');
  t.equal(upstream.received.length, 2);
});

t.test('issue 11: JSON bodies the upstream reads differently are separate entries', async (t) => {
  const upstream = await startFakeUpstream(echo);
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/search/jql', methods: ['POST'], bodyKey: true }] }]));
  const post = (body: string | Buffer) => proxy.fetch('/api/search/jql', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const pairs: ReadonlyArray<readonly [string, string | Buffer, string | Buffer]> = [
    ['null vs -1e400', '{"jql":"project = PROJ","maxResults":null}', '{"jql":"project = PROJ","maxResults":-1e400}'],
    ['duplicate keys', '{"a":1,"a":2}', '{"a":2}'],
    ['huge exponents', '{"n":1e400}', '{"n":2e400}'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]), Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xe8, 0x22, 0x7d])],
  ];
  for (const [label, first, second] of pairs) {
    const before = upstream.received.length;
    t.equal((await post(first)).headers['x-cache'], 'MISS', `${label}: first`);
    const other = await post(second);
    t.equal(other.headers['x-cache'], 'MISS', `${label}: second is not served the first's answer`);
    t.match(other.json(), { body: Buffer.from(second).toString('hex') });
    t.equal(upstream.received.length, before + 2, label);
  }
  t.equal((await post('{ "jql":"project = PROJ",  "maxResults":null }')).headers['x-cache'], 'HIT', 'lossless canonicalisation still merges');
});

t.test('issue 11: a Cookie equal to an Authorization value does not land in its partition', async (t) => {
  let n = 0;
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ n: ++n, authorized: req.headers['authorization'] !== undefined }));
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }]));
  const token = 'Bearer victim-token';

  const victim = await proxy.fetch('/api/items/1', { headers: { authorization: token } });
  t.equal(victim.headers['x-cache'], 'MISS');
  const cookie = await proxy.fetch('/api/items/1', { headers: { cookie: token } });
  t.equal(cookie.headers['x-cache'], 'MISS', 'a different partition');
  t.same(cookie.json(), { n: 2, authorized: false });
  t.equal((await proxy.fetch('/api/items/1', { headers: { authorization: token } })).headers['x-cache'], 'HIT');
});

t.test('issue 11: jsforce, curl and fetch asking for one record make one upstream call and one entry', async (t) => {
  const upstream = await startFakeUpstream(echo);
  t.teardown(() => upstream.close());
  const shipped = fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url));
  const { config } = loadConfig({ path: shipped, env: { SALESFORCE_URL: upstream.url, CACHE_KEY_SECRET: 'k' } });
  const salesforce = config.upstreams.find((u) => u.name === 'salesforce')!;
  const proxy = await startProxy(t, testConfig([{ ...salesforce, name: 'api', prefix: '/api', target: upstream.url, rules: [...salesforce.rules] }]));
  const path = '/api/services/data/v60.0/sobjects/Account/001000000000001';
  const auth = { authorization: 'Bearer user-a' };

  const jsforce = await proxy.fetch(path, { headers: { ...auth, accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'jsforce/3' } });
  t.equal(jsforce.headers['x-cache'], 'MISS');
  t.same(jsforce.json(), { url: '/services/data/v60.0/sobjects/Account/001000000000001', body: '', accept: 'application/json' }, 'the negotiated type is sent');
  const curl = await proxy.fetch(path, { headers: { ...auth, accept: '*/*', 'user-agent': 'curl/8.5.0' } });
  t.equal(curl.headers['x-cache'], 'HIT', 'curl');
  const viaFetch = await undiciFetch(proxy.url + path, { headers: auth });
  t.equal(viaFetch.headers.get('x-cache'), 'HIT', "Node's fetch (accept */*, accept-language *)");
  t.same(await viaFetch.json(), jsforce.json(), 'each client can read what it gets');
  const bare = await proxy.fetch(path, { headers: auth });
  t.equal(bare.headers['x-cache'], 'HIT', 'no Accept at all');
  t.equal(upstream.received.length, 1);

  const xml = await proxy.fetch(path, { headers: { ...auth, accept: 'application/xml' } });
  t.equal(xml.headers['x-cache'], 'MISS', 'another served type is another entry');
  t.equal(xml.json() && (xml.json() as { accept: string }).accept, 'application/xml');
  const unknown = await proxy.fetch(path, { headers: { ...auth, accept: 'text/csv' } });
  t.equal((unknown.json() as { accept: string }).accept, 'text/csv', 'an Accept that selects nothing goes as sent');
});
