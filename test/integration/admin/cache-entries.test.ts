import t, { type Test } from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import type { Config } from '../../../src/config/types.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { waitFor } from '../tiers-e2e/helpers.js';

/** In every body the upstream sends: a listing must never contain it. */
const BODY_MARKER = 'BODY-MARKER-7f3a';
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]);

interface Item {
  key: string;
  upstream: string;
  path: string;
  status: number;
  tags: string[];
  invalidated: boolean;
  fresh: boolean;
  ageSeconds: number;
  ttlSeconds: number;
  bodyBytes: number;
  sizeBytes: number;
  tiers: Record<string, string>;
}
interface Listing {
  source: string;
  items: Item[];
  nextCursor: string | null;
}

/** Paths fetched through the proxy to fill the cache: two upstreams, several prefixes. */
const PATHS = [
  ...Array.from({ length: 12 }, (_, i) => `/api/items/${i}`),
  ...Array.from({ length: 5 }, (_, i) => `/api/other/${i}?q=${i}`),
  ...Array.from({ length: 6 }, (_, i) => `/b/items/${i}`),
  '/api/bin/raw',
];

async function upstream(t: Test): Promise<FakeUpstream> {
  const server = await startFakeUpstream((req, res) => {
    if (req.url!.startsWith('/bin/')) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(BINARY);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.setHeader('etag', '"e1"');
    res.end(JSON.stringify({ url: req.url, marker: BODY_MARKER }));
  });
  t.teardown(() => server.close());
  return server;
}

type Variant = { name: string; source: string; configure: (t: Test) => Promise<Partial<Parameters<typeof testConfig>[1]> | null> };

const VARIANTS: Variant[] = [
  {
    name: 'memory, Redis and Postgres (listing from Postgres)',
    source: 'postgres',
    configure: async (t) => {
      const redis = await redisOrSkip(t);
      const pg = await postgresOrSkip(t);
      if (redis === null || pg === null) return null;
      const db = await pg.open(t);
      return {
        cache: {
          namespace: redis.namespace,
          redis: { url: redis.url, readTimeoutMs: 2_000, compressAboveBytes: 8192, writeQueueSize: 1000 },
          postgres: { enabled: true, readTimeoutMs: 2_000, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
        },
        database: { url: db.url },
      };
    },
  },
  {
    name: 'memory and Redis (listing from Redis)',
    source: 'redis',
    configure: async (t) => {
      const redis = await redisOrSkip(t);
      if (redis === null) return null;
      return { cache: { namespace: redis.namespace, redis: { url: redis.url, readTimeoutMs: 2_000, compressAboveBytes: 8192, writeQueueSize: 1000 } } };
    },
  },
  { name: 'memory only (listing from memory)', source: 'memory', configure: async () => ({}) },
];

async function setup(t: Test, variant: Variant) {
  const overrides = await variant.configure(t);
  if (overrides === null) return null;
  const server = await upstream(t);
  const rules = [{ path: '/items/:id', tags: ['item:{id}', 'items'] }, { path: '/other/:id' }, { path: '/bin/:name' }];
  const config: Config = testConfig(
    [
      { target: server.url, rules },
      { name: 'b', prefix: '/b', target: server.url, rules },
    ],
    overrides,
  );
  const proxy = await startProxy(t, config);
  const admin = buildAdminApp({ token: TEST_ADMIN_TOKEN, db: null, logger: false, cache: proxy.storage });
  t.teardown(() => admin.close());
  for (const path of PATHS) {
    const got = await proxy.fetch(path);
    if (got.headers['x-cache'] !== 'MISS') throw new Error(`${path}: ${String(got.headers['x-cache'])}`);
  }
  // Writes below memory are queued: wait until every tier holds everything.
  for (const tier of [proxy.storage.redis, proxy.storage.postgres]) {
    if (tier === null) continue;
    await waitFor(`every entry in ${tier.name}`, async () => (await tier.stats()).entries === PATHS.length);
  }
  return { proxy, admin };
}

async function list(admin: ReturnType<typeof buildAdminApp>, query: Record<string, string>): Promise<{ listing: Listing; raw: string }> {
  const response = await adminInject(admin, { url: '/admin/cache/entries', query });
  if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`);
  return { listing: response.json(), raw: response.body };
}

async function walk(admin: ReturnType<typeof buildAdminApp>, query: Record<string, string>): Promise<{ items: Item[]; raws: string[] }> {
  const items: Item[] = [];
  const raws: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    if (pages > 200) throw new Error('listing does not end');
    const { listing, raw }: { listing: Listing; raw: string } = await list(admin, cursor === null ? query : { ...query, cursor });
    items.push(...listing.items);
    raws.push(raw);
    cursor = listing.nextCursor;
    if (cursor === null) return { items, raws };
  }
}

/** Upstream name and upstream-relative path of a proxy path, as entries record them. */
function entryOf(path: string): { upstream: string; path: string } {
  return path.startsWith('/b/') ? { upstream: 'b', path: path.slice(2) } : { upstream: 'api', path: path.slice(4) };
}

for (const variant of VARIANTS) {
  t.test(variant.name, async (t) => {
    const s = await setup(t, variant);
    if (s === null) return;
    const { proxy, admin } = s;
    const configured = ['memory', ...(proxy.storage.redis ? ['redis'] : []), ...(proxy.storage.postgres ? ['postgres'] : [])];

    t.test('pages of every size walk every entry once; metadata only', async (t) => {
      const expected = PATHS.map(entryOf).map((e) => `${e.upstream} ${e.path}`).sort();
      for (const limit of ['1', '5', '500']) {
        const { items, raws } = await walk(admin, { limit });
        t.same(items.map((i) => `${i.upstream} ${i.path}`).sort(), expected, `limit ${limit}: every entry`);
        t.equal(new Set(items.map((i) => i.key)).size, PATHS.length, `limit ${limit}: no duplicates`);
        for (const raw of raws) t.notMatch(raw, BODY_MARKER, 'no body in a listing');
      }
      const first = await list(admin, {});
      t.equal(first.listing.source, variant.source);
      t.equal(first.listing.items.length, PATHS.length, 'default limit 50 holds them all');
      const item = first.listing.items.find((i) => i.path === '/items/3')!;
      t.same(item.tags, ['item:3', 'items']);
      t.equal(item.status, 200);
      t.equal(item.fresh, true);
      t.equal(item.invalidated, false);
      t.ok(item.ttlSeconds > 200 && item.ttlSeconds <= 300, `ttl ${item.ttlSeconds}`);
      t.ok(item.bodyBytes > 0 && item.sizeBytes > item.bodyBytes);
      t.same(Object.keys(item.tiers).sort(), [...configured].sort(), 'presence in each configured tier');
      for (const tier of configured) t.equal(item.tiers[tier], 'present', `${tier}: present`);
      t.notOk('body' in item);
    });

    t.test('upstream and prefix filters', async (t) => {
      const b = await walk(admin, { upstream: 'b', limit: '4' });
      t.same(b.items.map((i) => i.path).sort(), PATHS.filter((p) => p.startsWith('/b/')).map((p) => entryOf(p).path).sort());
      const other = await walk(admin, { upstream: 'api', prefix: '/other/', limit: '2' });
      t.same(other.items.map((i) => i.path).sort(), PATHS.filter((p) => p.startsWith('/api/other/')).map((p) => entryOf(p).path).sort());
      const one = await walk(admin, { upstream: 'api', prefix: '/items/1', limit: '2' });
      t.same(one.items.map((i) => i.path).sort(), ['/items/1', '/items/10', '/items/11'], 'a prefix is a string prefix of the path');
      t.same((await list(admin, { upstream: 'nothere' })).listing.items, [], 'an upstream with no entries: empty');
    });

    t.test('GET /admin/cache/entry: metadata in every tier, the body on request', async (t) => {
      const { listing } = await list(admin, { upstream: 'api', prefix: '/items/4' });
      const key = listing.items[0]!.key;
      const plain = await adminInject(admin, { url: '/admin/cache/entry', query: { key } });
      t.equal(plain.statusCode, 200);
      const detail = plain.json();
      t.equal(detail.key, key);
      t.equal(detail.source, 'memory', 'metadata from the first tier in read order');
      for (const tier of configured) t.equal(detail.tiers[tier], 'present');
      t.ok(detail.headerNames.includes('content-type') && detail.headerNames.includes('etag'), 'header names');
      t.notOk('body' in detail, 'no body without body=1');
      t.notMatch(plain.body, BODY_MARKER);

      const withBody = (await adminInject(admin, { url: '/admin/cache/entry', query: { key, body: '1' } })).json();
      t.equal(withBody.body.encoding, 'utf8');
      t.same(JSON.parse(withBody.body.data), { url: '/items/4', marker: BODY_MARKER });

      const bin = (await list(admin, { upstream: 'api', prefix: '/bin/' })).listing.items[0]!;
      const binary = (await adminInject(admin, { url: '/admin/cache/entry', query: { key: bin.key, body: 'true' } })).json();
      t.same(binary.body, { encoding: 'base64', data: BINARY.toString('base64') }, 'not UTF-8: base64');

      if (proxy.storage.memory !== null && configured.length > 1) {
        proxy.storage.memory.remove(key);
        const lower = (await adminInject(admin, { url: '/admin/cache/entry', query: { key, body: '1' } })).json();
        t.equal(lower.tiers.memory, 'absent');
        t.equal(lower.source, configured[1], 'then the next tier down');
        t.same(JSON.parse(lower.body.data), { url: '/items/4', marker: BODY_MARKER }, 'body read from that tier');
      }
    });

    t.test('an unknown key: 404 not_found', async (t) => {
      const response = await adminInject(admin, { url: '/admin/cache/entry', query: { key: 'api:anon:nothing-here' } });
      t.equal(response.statusCode, 404);
      t.equal(response.json().error, 'not_found');
      t.match(response.json().message, /no tier holds this key/);
    });

    t.test('entries invalidated by epoch are shown, flagged invalidated', async (t) => {
      await proxy.invalidator.invalidate({ tags: ['item:7'] }, 'admin');
      const { listing } = await list(admin, { upstream: 'api', prefix: '/items/7' });
      if (variant.source === 'memory') {
        t.equal(listing.items[0]?.invalidated, true, 'still in memory until read, flagged');
      } else {
        t.equal(listing.items.length, 1, 'still stored');
        t.equal(listing.items[0]!.invalidated, true);
      }
      const key = listing.items[0]!.key;
      const detail = (await adminInject(admin, { url: '/admin/cache/entry', query: { key } })).json();
      t.equal(detail.invalidated, true);
      const others = (await list(admin, { upstream: 'api', prefix: '/items/', limit: '500' })).listing.items.filter((i) => i.path !== '/items/7');
      t.ok(others.every((i) => !i.invalidated), 'nothing else is');
      t.equal((await proxy.fetch('/api/items/7')).headers['x-cache'], 'MISS', 'and the proxy does refetch it');
    });
  });
}

/** [query, the parameter the 400 must name] */
const INVALID_LIST: Array<[Record<string, string>, string]> = [
  [{ limit: '0' }, 'limit'],
  [{ limit: '501' }, 'limit'],
  [{ limit: 'ten' }, 'limit'],
  [{ limit: '1.5' }, 'limit'],
  [{ cursor: 'garbage!!' }, 'cursor'],
  [{ cursor: 'memory.' + Buffer.from('not json').toString('base64url') }, 'cursor'],
  [{ cursor: 'memory.' + Buffer.from('[1,2]').toString('base64url') }, 'cursor'],
  [{ cursor: 'postgres.' + Buffer.from('["a","b","c"]').toString('base64url') }, 'cursor'],
  [{ upstream: 'Not An Upstream' }, 'upstream'],
  [{ upstream: 'api', prefix: 'items' }, 'prefix'],
  [{ prefix: '/items' }, 'prefix'],
  [{ foo: '1' }, 'foo'],
];
const INVALID_ENTRY: Array<[Record<string, string>, string]> = [
  [{}, 'key'],
  [{ key: '' }, 'key'],
  [{ key: 'x'.repeat(513) }, 'key'],
  [{ key: 'api:anon:x', body: '2' }, 'body'],
  [{ key: 'api:anon:x', verbose: '1' }, 'verbose'],
];

t.test('bad input gets 400 invalid_request naming the parameter; no token gets 401', async (t) => {
  const s = await setup(t, VARIANTS[2]!);
  const admin = s!.admin;
  for (const [query, param] of INVALID_LIST) {
    const response = await adminInject(admin, { url: '/admin/cache/entries', query });
    t.equal(response.statusCode, 400, `${JSON.stringify(query)}: 400`);
    t.equal(response.json().error, 'invalid_request');
    t.match(response.json().message, new RegExp(`^${param}: \\S`), `${JSON.stringify(query)}: ${response.json().message}`);
  }
  for (const [query, param] of INVALID_ENTRY) {
    const response = await adminInject(admin, { url: '/admin/cache/entry', query });
    t.equal(response.statusCode, 400, `${JSON.stringify(query)}: 400`);
    t.match(response.json().message, new RegExp(`^${param}: \\S`), `${JSON.stringify(query)}: ${response.json().message}`);
  }
  const memoryCursor = (await list(admin, { limit: '1' })).listing.nextCursor!;
  t.match(memoryCursor, /^memory\./);
  const tampered = memoryCursor.replace(/^memory\./, 'redis.');
  const refused = await adminInject(admin, { url: '/admin/cache/entries', query: { cursor: tampered } });
  t.match(refused.json().message, /^cursor: .*from a redis listing; listings now come from memory/);
  for (const url of ['/admin/cache/entries', '/admin/cache/entry?key=x']) {
    const response = await admin.inject({ url });
    t.equal(response.statusCode, 401, `${url}: 401 without a token`);
    t.equal((await admin.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, 403, `${url}: 403 with a wrong one`);
  }
});
