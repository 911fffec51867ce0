import t, { type Test } from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const V = '/services/data/v60.0';
const auth = { authorization: 'Bearer user' };

/** The Salesforce preset's record, query and write rules, as they matter here. */
const rules = [
  { path: '/services/data/:v/query', query: { q: true }, tags: ['sf:query:{soql:q}'] },
  { path: '/services/data/:v/composite/sobjects/:type', methods: ['POST'], bodyKey: true, tags: ['sf:{type}', 'sf:query:{type}'] },
  { path: '/services/data/:v/sobjects/:type/:id', tags: ['sf:{type}:{id}', 'sf:{type}'] },
  { path: '/services/data/:v/sobjects/:type/:id', methods: ['PATCH', 'DELETE'], cache: false, invalidates: ['sf:{type}:{id}', 'sf:query:{type}', 'sf:query-pages'] },
  { path: '/services/data/:v/sobjects/:type', methods: ['POST'], cache: false, invalidates: ['sf:query:{type}', 'sf:query-pages'] },
];

const q = (soql: string) => `/api${V}/query?q=${encodeURIComponent(soql)}`;
const account = `/api${V}/sobjects/Account/001X`;

async function setUp(t: Test) {
  let version = 1;
  const upstream = await startFakeUpstream((req, res, body) => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'POST' && /[?&]_HttpMethod=|x-http-method-override/i.test(req.url! + JSON.stringify(req.headers))) {
      if (body.toString() === 'invalid') {
        res.statusCode = 400;
        return void res.end('[{"errorCode":"INVALID_FIELD"}]');
      }
      version += 1;
      res.statusCode = 204;
      return void res.end();
    }
    res.end(JSON.stringify({ url: req.url, version }));
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules }]));
  const read = async (path: string) => (await proxy.fetch(path, { headers: auth })).headers['x-cache'];
  const warm = async () => {
    for (const path of [account, q('SELECT Name FROM Account'), q('SELECT Id FROM Contact')]) await read(path);
    t.equal(await read(account), 'HIT');
    t.equal(await read(q('SELECT Name FROM Account')), 'HIT');
  };
  return { upstream, proxy, read, warm };
}

t.test('POST ?_HttpMethod=PATCH invalidates the record and the Account queries, as a PATCH does', async (t) => {
  const { upstream, proxy, read, warm } = await setUp(t);
  await warm();
  const write = await proxy.fetch(`${account}?_HttpMethod=PATCH`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"Name":"New"}' });
  t.equal(write.status, 204);
  t.equal(write.headers['x-cache'], 'BYPASS', 'never cached');
  const sent = upstream.received.at(-1)!;
  t.equal(sent.method, 'POST', 'forwarded as sent');
  t.equal(sent.url, `${V}/sobjects/Account/001X?_HttpMethod=PATCH`, 'with its override, which Salesforce reads');
  t.equal(await read(account), 'MISS', 'the record is refetched');
  t.equal(await read(q('SELECT Name FROM Account')), 'MISS', 'queries over Account are refetched');
  t.equal(await read(q('SELECT Id FROM Contact')), 'HIT', 'queries over other types are kept');
  t.equal(proxy.invalidator.counts.write, 1);
});

t.test('_httpmethod=delete in any case, and X-HTTP-Method-Override, are read the same way', async (t) => {
  const { proxy, read, warm } = await setUp(t);
  await warm();
  t.equal((await proxy.fetch(`${account}?_httpmethod=delete`, { method: 'POST', headers: auth })).status, 204);
  t.equal(await read(q('SELECT Name FROM Account')), 'MISS');
  await warm();
  const header = await proxy.fetch(account, { method: 'POST', headers: { ...auth, 'x-http-method-override': 'PATCH', 'content-type': 'application/json' }, body: '{}' });
  t.ok(header.status >= 200 && header.status < 300, 'the write succeeded');
  t.equal(await read(account), 'MISS');
  t.equal(await read(q('SELECT Name FROM Account')), 'MISS');
});

t.test('a failed override write invalidates nothing', async (t) => {
  const { proxy, read, warm } = await setUp(t);
  await warm();
  t.equal((await proxy.fetch(`${account}?_HttpMethod=PATCH`, { method: 'POST', headers: auth, body: 'invalid' })).status, 400);
  t.equal(await read(q('SELECT Name FROM Account')), 'HIT');
  t.equal(proxy.invalidator.counts.write, 0);
});

t.test('a body-keyed POST read that names a write in _HttpMethod is never cached', async (t) => {
  const { upstream, proxy } = await setUp(t);
  const path = `/api${V}/composite/sobjects/Account`;
  const body = '{"ids":["001X"],"fields":["Name"]}';
  const headers = { ...auth, 'content-type': 'application/json' };
  t.equal((await proxy.fetch(path, { method: 'POST', headers, body })).headers['x-cache'], 'MISS');
  t.equal((await proxy.fetch(path, { method: 'POST', headers, body })).headers['x-cache'], 'HIT', 'the plain read is cached');
  const before = upstream.received.length;
  for (let i = 0; i < 2; i++) {
    const response = await proxy.fetch(`${path}?_HttpMethod=DELETE`, { method: 'POST', headers, body });
    t.equal(response.headers['x-cache'], 'BYPASS');
  }
  t.equal(upstream.received.length - before, 2, 'each override reached the upstream');
});
