import t from 'tap';
import type { CacheEntry } from '../../../src/cache/entry.js';
import { mergeNotModified, notModified, notModifiedHeaders, notModifiedSelects, revalidationHeaders } from '../../../src/policy/conditional.js';
import { freshness, staleWindowMs } from '../../../src/policy/freshness.js';
import { rule } from '../../helpers/config.js';

const entry = (over: Partial<CacheEntry> = {}): CacheEntry => ({
  key: 'k',
  upstream: 'api',
  path: '/x',
  status: 200,
  headers: {},
  body: Buffer.from('x'),
  storedAt: 0,
  expiresAt: 1_000,
  staleUntil: 11_000,
  tags: [],
  scope: 'authorization',
  ...over,
});

t.test('freshness walks fresh → stale-while-revalidate → stale-if-error → expired', async (t) => {
  const windows = { staleWhileRevalidateMs: 2_000, staleIfErrorMs: 10_000, freshness: 'rule' as const, respectCacheControl: false };
  t.equal(freshness(entry(), windows, 999), 'fresh');
  t.equal(freshness(entry(), windows, 1_000), 'stale-while-revalidate', 'the ttl boundary is stale');
  t.equal(freshness(entry(), windows, 2_999), 'stale-while-revalidate');
  t.equal(freshness(entry(), windows, 3_000), 'stale-if-error');
  t.equal(freshness(entry(), windows, 10_999), 'stale-if-error');
  t.equal(freshness(entry(), windows, 11_000), 'expired');
  t.equal(freshness(entry({ staleUntil: 1_500 }), windows, 1_600), 'expired', "the entry's own horizon wins over the rule's");
  t.equal(freshness(entry(), { ...windows, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 }, 1_000), 'expired');
});

t.test('the stale window is the longer one, and none under must-revalidate when Cache-Control is respected', async (t) => {
  const r = rule({ path: '/', staleWhileRevalidateMs: 60_000, staleIfErrorMs: 3_600_000 });
  t.equal(staleWindowMs(r, {}), 3_600_000);
  t.equal(staleWindowMs(r, { 'cache-control': 'max-age=60, must-revalidate' }), 3_600_000, 'ignored unless respectCacheControl');
  const respecting = rule({ path: '/', staleIfErrorMs: 3_600_000, respectCacheControl: true });
  t.equal(staleWindowMs(respecting, { 'cache-control': 'max-age=60, must-revalidate' }), 0);
  t.equal(staleWindowMs(respecting, { 'cache-control': 'proxy-revalidate' }), 0);
  t.equal(staleWindowMs(respecting, { 'cache-control': 'max-age=60' }), 3_600_000);
});

t.test('revalidation sends the stored validators', async (t) => {
  t.same(revalidationHeaders({ etag: '"v1"', 'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT' }), [
    'if-none-match',
    '"v1"',
    'if-modified-since',
    'Tue, 01 Sep 2026 10:00:00 GMT',
  ]);
  t.same(revalidationHeaders({ 'content-type': 'application/json' }), []);
});

t.test('a 304 updates the stored headers but not those describing the body', async (t) => {
  const merged = mergeNotModified(
    { 'content-type': 'application/json', 'content-length': '10', etag: '"v1"', date: 'old' },
    { etag: '"v1"', date: 'new', 'content-length': '0', 'x-extra': 'y' },
  );
  t.same(merged, { 'content-type': 'application/json', 'content-length': '10', etag: '"v1"', date: 'new', 'x-extra': 'y' });
});

t.test('RFC 9111 §4.3.4: which 304s select the stored response for update', async (t) => {
  const stored = { etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' };
  t.equal(notModifiedSelects(stored, { etag: '"v1"' }), true, 'the same strong tag');
  t.equal(notModifiedSelects(stored, { etag: ' "v1" ' }), true, 'whitespace around a field value is not part of it');
  t.equal(notModifiedSelects(stored, { etag: '"v2"' }), false, 'another strong tag');
  t.equal(notModifiedSelects({ etag: 'W/"v1"' }, { etag: '"v1"' }), false, 'a strong tag never matches a weak one');
  t.equal(notModifiedSelects(stored, { etag: 'W/"v1"' }), true, 'a weak tag matches weakly');
  t.equal(notModifiedSelects(stored, { etag: 'W/"v2"' }), false);
  t.equal(notModifiedSelects({ 'last-modified': stored['last-modified'] }, { etag: '"v1"' }), false, 'a tag when none is stored');
  t.equal(notModifiedSelects(stored, { 'last-modified': 'Tuesday, 01-Dec-26 10:00:00 GMT' }), true, 'the same Last-Modified, in another HTTP-date form');
  t.equal(notModifiedSelects(stored, { 'last-modified': 'Tue, 01 Dec 2026 11:00:00 GMT' }), false, 'another Last-Modified');
  t.equal(notModifiedSelects({ etag: '"v1"' }, { 'last-modified': 'Tue, 01 Dec 2026 11:00:00 GMT' }), false, 'a Last-Modified when none is stored');
  t.equal(notModifiedSelects(stored, { 'cache-control': 'max-age=60' }), true, 'no validator: taken as answering what was asked');
});

t.test("a client's conditional request is matched against the stored response", async (t) => {
  const stored = { etag: 'W/"abc"', 'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT', 'content-type': 'text/plain', vary: 'accept' };
  t.ok(notModified('GET', { 'if-none-match': '"abc"' }, 200, stored), 'weak comparison ignores W/');
  t.ok(notModified('GET', { 'if-none-match': '"x", W/"abc"' }, 200, stored), 'any tag in the list');
  t.ok(notModified('HEAD', { 'if-none-match': '*' }, 200, stored));
  t.notOk(notModified('GET', { 'if-none-match': '"other"' }, 200, stored));
  t.notOk(notModified('GET', { 'if-none-match': '"other"', 'if-modified-since': 'Wed, 02 Sep 2026 10:00:00 GMT' }, 200, stored), 'If-None-Match wins over If-Modified-Since');
  t.ok(notModified('GET', { 'if-modified-since': 'Tue, 01 Sep 2026 10:00:00 GMT' }, 200, stored));
  t.notOk(notModified('GET', { 'if-modified-since': 'Mon, 31 Aug 2026 10:00:00 GMT' }, 200, stored));
  t.notOk(notModified('GET', { 'if-modified-since': 'garbage' }, 200, stored));
  t.notOk(notModified('POST', { 'if-none-match': '"abc"' }, 200, stored), 'only GET and HEAD');
  t.notOk(notModified('GET', { 'if-none-match': '"abc"' }, 404, stored), 'only 200 responses');
  t.notOk(notModified('GET', {}, 200, stored));
  t.same(notModifiedHeaders(stored), { etag: 'W/"abc"', 'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT', vary: 'accept' });
});
