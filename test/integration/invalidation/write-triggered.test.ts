import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';

const V = '/services/data/v60.0';
const auth = { authorization: 'Bearer user' };

/** A tiny Salesforce: records by type/id with a version that PATCH bumps; queries echo the SOQL. */
async function salesforce(options: { queryDelayMs?: number } = {}) {
  const versions = new Map<string, number>();
  return startFakeUpstream(async (req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    const record = /^\/services\/data\/v60\.0\/sobjects\/(\w+)\/(\w+)$/.exec(url.pathname);
    res.setHeader('content-type', 'application/json');
    if (record && req.method === 'PATCH') {
      if (body.toString() === 'invalid') {
        res.statusCode = 400;
        return void res.end('[{"errorCode":"INVALID_FIELD"}]');
      }
      versions.set(`${record[1]}/${record[2]}`, (versions.get(`${record[1]}/${record[2]}`) ?? 1) + 1);
      res.statusCode = 204;
      return void res.end();
    }
    if (record) return void res.end(JSON.stringify({ id: record[2], version: versions.get(`${record[1]}/${record[2]}`) ?? 1 }));
    if (url.pathname === `${V}/query`) {
      // State is read when the request arrives; the answer is slow to come back.
      const total = [...versions.values()].reduce((a, b) => a + b, 0);
      if (options.queryDelayMs) await new Promise((resolve) => setTimeout(resolve, options.queryDelayMs));
      return void res.end(JSON.stringify({ q: url.searchParams.get('q'), stamp: total }));
    }
    res.statusCode = 404;
    res.end('[]');
  });
}

const rules = [
  { path: '/services/data/:v/query', query: { q: true }, tags: ['sf:query:{soql:q}'] },
  { path: '/services/data/:v/sobjects/:type/:id', tags: ['sf:{type}:{id}', 'sf:{type}'] },
  {
    path: '/services/data/:v/sobjects/:type/:id',
    methods: ['PATCH', 'DELETE'],
    cache: false,
    invalidates: ['sf:{type}:{id}', 'sf:query:{type}'],
  },
];

const q = (soql: string) => `/api${V}/query?q=${encodeURIComponent(soql)}`;

t.test('a successful PATCH makes the next read of that record and of queries over its type fresh', async (t) => {
  const upstream = await salesforce();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules }]));

  const record = `/api${V}/sobjects/Account/001`;
  const other = `/api${V}/sobjects/Account/002`;
  await proxy.fetch(record, { headers: auth });
  await proxy.fetch(other, { headers: auth });
  await proxy.fetch(q('SELECT Id FROM Account'), { headers: auth });
  await proxy.fetch(q('select Id, Account.Name from CONTACT'), { headers: auth });
  await proxy.fetch(q('SELECT Id FROM Contact'), { headers: auth });
  t.equal((await proxy.fetch(record, { headers: auth })).headers['x-cache'], 'HIT');

  const patch = await proxy.fetch(record, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: '{"Name":"New"}' });
  t.equal(patch.status, 204);

  const fresh = await proxy.fetch(record, { headers: auth });
  t.equal(fresh.headers['x-cache'], 'MISS', 'the written record is refetched');
  t.same(fresh.json(), { id: '001', version: 2 });
  t.equal((await proxy.fetch(other, { headers: auth })).headers['x-cache'], 'HIT', 'other records of the type are kept');
  t.equal((await proxy.fetch(q('SELECT Id FROM Account'), { headers: auth })).headers['x-cache'], 'MISS', 'queries over Account are refetched');
  t.equal(
    (await proxy.fetch(q('select Id, Account.Name from CONTACT'), { headers: auth })).headers['x-cache'],
    'MISS',
    'queries reading Account through a relationship are refetched',
  );
  t.equal((await proxy.fetch(q('SELECT Id FROM Contact'), { headers: auth })).headers['x-cache'], 'HIT', 'queries over Contact are kept');
  t.equal(proxy.invalidator.counts.write, 1);
});

t.test('a failed write invalidates nothing', async (t) => {
  const upstream = await salesforce();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules }]));
  const record = `/api${V}/sobjects/Account/001`;
  await proxy.fetch(record, { headers: auth });
  const failed = await proxy.fetch(record, { method: 'PATCH', headers: auth, body: 'invalid' });
  t.equal(failed.status, 400);
  t.equal((await proxy.fetch(record, { headers: auth })).headers['x-cache'], 'HIT');
  t.equal(proxy.invalidator.counts.write, 0);
});

t.test('a write to a path no rule names still invalidates that exact URI (RFC 9111 §4.4)', async (t) => {
  const upstream = await startFakeUpstream((req, res) => {
    res.statusCode = req.method === 'GET' ? 200 : 201;
    res.end(`${req.method} ${Date.now()}`);
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/things/:id' }] }]));
  await proxy.fetch('/api/things/1?view=full');
  await proxy.fetch('/api/things/2');
  await proxy.fetch('/api/things/1', { method: 'PUT', body: 'x' });
  t.equal((await proxy.fetch('/api/things/1?view=full')).headers['x-cache'], 'MISS');
  t.equal((await proxy.fetch('/api/things/2')).headers['x-cache'], 'HIT');
});

t.test('a read whose upstream call started before the write is never stored as fresh', async (t) => {
  const upstream = await salesforce({ queryDelayMs: 300 });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules }]));
  const slowRead = proxy.fetch(q('SELECT Id FROM Account'), { headers: auth });
  await new Promise((resolve) => setTimeout(resolve, 50));
  await proxy.fetch(`/api${V}/sobjects/Account/001`, { method: 'PATCH', headers: auth, body: '{}' });
  const old = await slowRead;
  t.same(old.json(), { q: 'SELECT Id FROM Account', stamp: 0 }, 'the slow read was answered from before the write');
  const next = await proxy.fetch(q('SELECT Id FROM Account'), { headers: auth });
  t.equal(next.headers['x-cache'], 'MISS', 'and its entry is not served after the write');
  t.same(next.json(), { q: 'SELECT Id FROM Account', stamp: 2 });
});

t.test('a write through one instance makes the others fresh too (Redis bus)', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const upstream = await salesforce();
  t.teardown(() => upstream.close());
  const cache = {
    namespace: redis.namespace,
    redis: { url: redis.url, readTimeoutMs: 200, compressAboveBytes: 8192, writeQueueSize: 1000 },
  };
  const a = await startProxy(t, testConfig([{ target: upstream.url, rules }], { cache }));
  const b = await startProxy(t, testConfig([{ target: upstream.url, rules }], { cache }));
  const record = `/api${V}/sobjects/Account/001`;
  await b.fetch(record, { headers: auth });
  t.equal((await b.fetch(record, { headers: auth })).headers['x-cache-tier'], 'memory');

  await a.fetch(record, { method: 'PATCH', headers: auth, body: '{}' });
  const deadline = Date.now() + 2_000;
  let seenAfterMs = -1;
  const writtenAt = Date.now();
  while (Date.now() < deadline) {
    const response = await b.fetch(record, { headers: auth });
    if ((response.json() as { version: number }).version === 2) {
      seenAfterMs = Date.now() - writtenAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.ok(seenAfterMs >= 0 && seenAfterMs <= 100, `instance B served the new version ${seenAfterMs} ms after the write returned`);
});
