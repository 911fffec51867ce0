import t from 'tap';
import type { CacheRuleConfig } from '../../../src/config/types.js';
import { clientDirectives } from '../../../src/policy/request-directives.js';
import { decideStore as decide } from '../../../src/policy/storability.js';
import type { StoredHeaders } from '../../../src/cache/entry.js';
import { rule } from '../../helpers/config.js';

/** API-mode decisions as `{ store, ttlMs }` or `{ store, reason }`, for a response without Date or Age. */
function decideStore(r: CacheRuleConfig, status: number, headers: StoredHeaders, keyVary: ReadonlySet<string>) {
  const decision = decide(r, { status, headers, keyVary, times: { requestTime: 0, responseTime: 0 }, authorized: false });
  return decision.store ? { store: true, ttlMs: decision.ttlMs } : decision;
}

const plain = rule({ path: '/x', ttlMs: 60_000 });
const respecting = rule({ path: '/x', ttlMs: 60_000, respectCacheControl: true });
const noVary = new Set<string>();

t.test('decideStore: statuses', async (t) => {
  for (const status of [200, 203]) {
    t.test(`stores a ${status} with the rule ttl by default`, async (t) => {
      t.same(decideStore(plain, status, {}, noVary), { store: true, ttlMs: 60_000 });
    });
  }

  for (const status of [201, 204, 206, 301, 304, 400, 401, 403, 404, 500, 502, 503]) {
    t.test(`does not store a ${status} by default`, async (t) => {
      t.same(decideStore(plain, status, {}, noVary), { store: false, reason: 'status' });
    });
  }

  t.test('stores statuses the rule lists', async (t) => {
    const r = rule({ path: '/x', ttlMs: 1000, statuses: [200, 301] });
    t.same(decideStore(r, 301, {}, noVary), { store: true, ttlMs: 1000 });
  });

  t.test('does not cache a 404 without negativeTtlMs', async (t) => {
    t.same(decideStore(plain, 404, {}, noVary), { store: false, reason: 'status' });
  });

  t.test('caches a 404 for negativeTtlMs when set', async (t) => {
    const r = rule({ path: '/x', ttlMs: 60_000, negativeTtlMs: 5_000 });
    t.same(decideStore(r, 404, {}, noVary), { store: true, ttlMs: 5_000 });
  });

  t.test('negativeTtlMs does not make other error statuses cacheable', async (t) => {
    const r = rule({ path: '/x', negativeTtlMs: 5_000 });
    t.same(decideStore(r, 410, {}, noVary), { store: false, reason: 'status' });
    t.same(decideStore(r, 500, {}, noVary), { store: false, reason: 'status' });
  });
});

t.test('decideStore: set-cookie', async (t) => {
  t.test('never stores a response with set-cookie', async (t) => {
    t.same(decideStore(plain, 200, { 'set-cookie': 'sid=1' }, noVary), { store: false, reason: 'set-cookie' });
  });

  t.test('never stores a response with several set-cookie values', async (t) => {
    t.same(decideStore(plain, 200, { 'set-cookie': ['a=1', 'b=2'] }, noVary), { store: false, reason: 'set-cookie' });
  });

  t.test('never stores a negatively cached 404 with set-cookie', async (t) => {
    const r = rule({ path: '/x', negativeTtlMs: 5_000 });
    t.same(decideStore(r, 404, { 'set-cookie': 'sid=1' }, noVary), { store: false, reason: 'set-cookie' });
  });
});

t.test('decideStore: vary', async (t) => {
  t.test('stores when every Vary field is in the key vary set', async (t) => {
    const keyVary = new Set(['accept', 'accept-encoding']);
    t.same(decideStore(plain, 200, { vary: 'Accept, Accept-Encoding' }, keyVary), { store: true, ttlMs: 60_000 });
  });

  t.test('does not store when a Vary field is outside the key vary set', async (t) => {
    const keyVary = new Set(['accept']);
    t.same(decideStore(plain, 200, { vary: 'Accept, X-Tenant' }, keyVary), { store: false, reason: 'vary' });
  });

  t.test('checks Vary fields from repeated Vary headers', async (t) => {
    const keyVary = new Set(['accept']);
    t.same(decideStore(plain, 200, { vary: ['accept', 'origin'] }, keyVary), { store: false, reason: 'vary' });
  });

  t.test('does not store Vary: *', async (t) => {
    t.same(decideStore(plain, 200, { vary: '*' }, new Set(['accept'])), { store: false, reason: 'vary' });
  });

  t.test('ignores empty Vary list elements', async (t) => {
    t.same(decideStore(plain, 200, { vary: 'accept, ,' }, new Set(['accept'])), { store: true, ttlMs: 60_000 });
  });
});

t.test('decideStore: respectCacheControl false (Salesforce style)', async (t) => {
  t.test('ignores no-cache, no-store, private and uses the rule ttl', async (t) => {
    const headers = { 'cache-control': 'no-cache, no-store, private' };
    t.same(decideStore(plain, 200, headers, noVary), { store: true, ttlMs: 60_000 });
  });

  t.test('ignores max-age=0', async (t) => {
    t.same(decideStore(plain, 200, { 'cache-control': 'max-age=0' }, noVary), { store: true, ttlMs: 60_000 });
  });

  t.test('ignores max-age', async (t) => {
    t.same(decideStore(plain, 200, { 'cache-control': 'max-age=5' }, noVary), { store: true, ttlMs: 60_000 });
  });
});

t.test('decideStore: respectCacheControl true', async (t) => {
  t.test('stores with the rule ttl without Cache-Control', async (t) => {
    t.same(decideStore(respecting, 200, {}, noVary), { store: true, ttlMs: 60_000 });
  });

  t.test('honours no-store', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'no-store' }, noVary), { store: false, reason: 'no-store' });
  });

  t.test('honours no-cache', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'no-cache' }, noVary), { store: false, reason: 'no-store' });
  });

  t.test('honours private', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'private, max-age=60' }, noVary), {
      store: false,
      reason: 'private',
    });
  });

  t.test('matches directive names case-insensitively', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'No-Store' }, noVary), { store: false, reason: 'no-store' });
  });

  t.test('uses max-age as the ttl', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'public, max-age=30' }, noVary), { store: true, ttlMs: 30_000 });
  });

  t.test('prefers s-maxage over max-age', async (t) => {
    const headers = { 'cache-control': 'max-age=10, s-maxage=120' };
    t.same(decideStore(respecting, 200, headers, noVary), { store: true, ttlMs: 120_000 });
  });

  t.test('does not store max-age=0', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'max-age=0' }, noVary), { store: false, reason: 'max-age' });
  });

  t.test('does not store s-maxage=0 even with a positive max-age', async (t) => {
    const headers = { 'cache-control': 'max-age=60, s-maxage=0' };
    t.same(decideStore(respecting, 200, headers, noVary), { store: false, reason: 'max-age' });
  });

  t.test('reads a quoted max-age', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'max-age="45"' }, noVary), { store: true, ttlMs: 45_000 });
  });

  t.test('falls back to the rule ttl for a non-numeric max-age', async (t) => {
    t.same(decideStore(respecting, 200, { 'cache-control': 'max-age=soon' }, noVary), { store: true, ttlMs: 60_000 });
  });

  t.test('still refuses set-cookie before looking at Cache-Control', async (t) => {
    const headers = { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' };
    t.same(decideStore(respecting, 200, headers, noVary), { store: false, reason: 'set-cookie' });
  });
});

t.test('clientDirectives', async (t) => {
  t.test('no headers means neither no-cache nor no-store', async (t) => {
    t.match(clientDirectives({}), { noCache: false, noStore: false });
  });

  t.test('Cache-Control: no-cache sets noCache', async (t) => {
    t.match(clientDirectives({ 'cache-control': 'no-cache' }), { noCache: true, noStore: false });
  });

  t.test('Cache-Control: max-age=0 sets noCache', async (t) => {
    t.match(clientDirectives({ 'cache-control': 'max-age=0' }), { noCache: true, noStore: false });
  });

  t.test('Cache-Control: max-age above 0 does not set noCache', async (t) => {
    t.match(clientDirectives({ 'cache-control': 'max-age=60' }), { noCache: false, noStore: false });
  });

  t.test('Cache-Control: no-store sets noStore', async (t) => {
    t.match(clientDirectives({ 'cache-control': 'no-store' }), { noCache: false, noStore: true });
  });

  t.test('reads directives from repeated Cache-Control headers', async (t) => {
    t.match(clientDirectives({ 'cache-control': ['max-age=60', 'no-store'] }), { noCache: false, noStore: true });
  });

  t.test('Pragma: no-cache counts without Cache-Control', async (t) => {
    t.match(clientDirectives({ pragma: 'no-cache' }), { noCache: true, noStore: false });
  });

  t.test('Pragma is matched case-insensitively within a list', async (t) => {
    t.match(clientDirectives({ pragma: 'x-foo, No-Cache' }), { noCache: true, noStore: false });
  });

  t.test('Pragma is ignored when Cache-Control is present', async (t) => {
    t.match(clientDirectives({ pragma: 'no-cache', 'cache-control': 'max-age=60' }), { noCache: false, noStore: false });
  });

  t.test('other Pragma values do not set noCache', async (t) => {
    t.match(clientDirectives({ pragma: 'no-cache-please' }), { noCache: false, noStore: false });
  });
});

t.test('standards mode (freshness: origin): RFC 9111 §3', async (t) => {
  const origin = rule({ path: '/x', scope: 'shared', respectCacheControl: true, freshness: 'origin', keepExpiredMs: 3_600_000 });
  const T = Date.UTC(2026, 0, 1);
  const at = { requestTime: T, responseTime: T };
  const date = new Date(T).toUTCString();
  const store = (status: number, headers: StoredHeaders, authorized = false) => decide(origin, { status, headers: { date, ...headers }, keyVary: noVary, times: at, authorized });

  t.test('explicit freshness, minus the age it arrived with (§4.2.3)', async (t) => {
    t.match(store(200, { 'cache-control': 'max-age=60' }), { store: true, ttlMs: 60_000, ageMs: 0 });
    t.match(store(200, { 'cache-control': 'max-age=3600', age: '600' }), { store: true, ttlMs: 3_000_000, ageMs: 600_000 });
    t.same(store(200, { 'cache-control': 'max-age=3600', age: '7200' }), { store: false, reason: 'max-age' }, 'stale on arrival, nothing to revalidate with');
    t.match(store(200, { 'cache-control': 'max-age=3600', age: '7200', etag: '"v1"' }), { store: true, ttlMs: -3_600_000 }, 'stale on arrival but kept to revalidate');
  });

  t.test('no explicit freshness: a heuristically cacheable status with a validator is kept stale, else not stored (§4.2.2)', async (t) => {
    t.match(store(200, { etag: '"v1"' }), { store: true, ttlMs: 0, keepMs: 3_600_000 });
    t.same(store(200, {}), { store: false, reason: 'max-age' });
    t.same(store(500, {}), { store: false, reason: 'status' });
    t.same(store(201, { etag: '"v1"' }), { store: false, reason: 'status' });
    t.match(store(500, { 'cache-control': 'max-age=5' }), { store: true, ttlMs: 5_000 }, 'an explicit lifetime makes any final status storable');
  });

  t.test('no-store, private, no-cache (§5.2.2)', async (t) => {
    t.same(store(200, { 'cache-control': 'no-store, max-age=60' }), { store: false, reason: 'no-store' });
    t.same(store(200, { 'cache-control': 'private, max-age=60' }), { store: false, reason: 'private' });
    t.match(store(200, { 'cache-control': 'no-cache, max-age=60', etag: '"v1"' }), { store: true, ttlMs: 0 }, 'stored, to be revalidated on every use');
    t.match(store(200, { 'cache-control': 'max-age=60, no-cache="x-a", private="x-b"' }), { store: true, withheld: ['x-a', 'x-b'] });
    t.match(store(299, { 'cache-control': 'no-store, must-understand, max-age=60' }), { store: false, reason: 'status' }, '§5.2.2.3: an unknown status with must-understand');
    t.match(store(200, { 'cache-control': 'no-store, must-understand, max-age=60' }), { store: true }, '§5.2.2.3: must-understand overrides no-store for a known status');
  });

  t.test('Authorization (§3.5) and Vary: *', async (t) => {
    t.same(store(200, { 'cache-control': 'max-age=60' }, true), { store: false, reason: 'authorization' });
    for (const cc of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) t.match(store(200, { 'cache-control': cc }, true), { store: true }, cc);
    t.same(store(200, { 'cache-control': 'max-age=60', vary: 'Accept, *' }), { store: false, reason: 'vary' });
    t.match(store(200, { 'cache-control': 'max-age=60', vary: 'X-Anything' }), { store: true }, 'any other Vary is stored per variant');
  });

  t.test('RFC 5861 windows are kept past freshness', async (t) => {
    t.match(store(200, { 'cache-control': 'max-age=60, stale-if-error=7200' }), { store: true, ttlMs: 60_000, keepMs: 7_200_000 });
    t.same(store(206, { 'cache-control': 'max-age=60' }), { store: false, reason: 'status' }, 'partial content is never stored (no combining, §3.4)');
  });
});
