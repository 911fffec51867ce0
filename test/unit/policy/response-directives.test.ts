import t from 'tap';
import { responseDirectives } from '../../../src/policy/response-directives.js';

t.test('RFC 9111 §5.2.2: response directives a shared cache obeys', async (t) => {
  const d = responseDirectives({ 'cache-control': 'public, max-age=60, stale-while-revalidate=30, stale-if-error=600' });
  t.match(d, { public: true, maxAgeMs: 60_000, staleWhileRevalidateMs: 30_000, staleIfErrorMs: 600_000, mustRevalidate: false, noStore: false });
  t.equal(responseDirectives({}).maxAgeMs, null, 'no explicit lifetime');
  t.equal(responseDirectives({ 'cache-control': 'max-age=60, s-maxage=5' }).maxAgeMs, 5_000, '§5.2.2.10: s-maxage wins in a shared cache');
  t.equal(responseDirectives({ 'cache-control': 'Max-Age="30"' }).maxAgeMs, 30_000, 'names are case-insensitive, quoted values read');
});

t.test('RFC 9111 §4.2.1: invalid or conflicting max-age means stale', async (t) => {
  t.equal(responseDirectives({ 'cache-control': 'max-age=soon' }).maxAgeMs, 0);
  t.equal(responseDirectives({ 'cache-control': 'max-age=-1' }).maxAgeMs, 0);
  t.equal(responseDirectives({ 'cache-control': 'max-age=60, max-age=3600' }).maxAgeMs, 0);
  t.equal(responseDirectives({ 'cache-control': ['max-age=60', 'max-age=60'] }).maxAgeMs, 60_000, 'a repeat with the same value is harmless');
  t.equal(responseDirectives({ 'cache-control': 'max-age=99999999999' }).maxAgeMs, 2_147_483_648_000, '§1.2.2: delta-seconds saturate at 2^31');
});

t.test('RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10: must-revalidate, proxy-revalidate and s-maxage forbid stale use', async (t) => {
  for (const value of ['max-age=1, must-revalidate', 'max-age=1, proxy-revalidate', 's-maxage=1']) {
    const d = responseDirectives({ 'cache-control': `${value}, stale-while-revalidate=60, stale-if-error=60` });
    t.equal(d.mustRevalidate, true, value);
    t.equal(d.staleWhileRevalidateMs, 0, value);
    t.equal(d.staleIfErrorMs, 0, value);
  }
});

t.test('RFC 9111 §5.2.2.4 and §5.2.2.7: qualified no-cache and private name withheld fields', async (t) => {
  const d = responseDirectives({ 'cache-control': 'max-age=60, no-cache="X-Secret, Set-Cookie2", private="x-user"' });
  t.equal(d.noCache, false);
  t.equal(d.private, false);
  t.same(d.withheldFields, ['x-secret', 'set-cookie2', 'x-user']);
  t.equal(responseDirectives({ 'cache-control': 'no-cache' }).noCache, true);
  t.equal(responseDirectives({ 'cache-control': 'private' }).private, true);
});

t.test('RFC 9111 §3.5: public, s-maxage and must-revalidate allow sharing an authorised answer', async (t) => {
  t.equal(responseDirectives({ 'cache-control': 'max-age=60' }).sharesAuthorized, false);
  for (const value of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) {
    t.equal(responseDirectives({ 'cache-control': value }).sharesAuthorized, true, value);
  }
});

t.test('RFC 9213 §2.2: a targeted field replaces Cache-Control, most specific first', async (t) => {
  t.equal(responseDirectives({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }).noStore, false);
  t.equal(responseDirectives({ 'cache-control': 'max-age=10', 'cdn-cache-control': 'max-age=60' }).maxAgeMs, 60_000);
  t.equal(responseDirectives({ 'cdn-cache-control': 'max-age=60', 'sidecache-cache-control': 'max-age=5' }).maxAgeMs, 5_000);
  t.equal(responseDirectives({ 'cache-control': 'max-age=10', 'cdn-cache-control': '"broken' }).maxAgeMs, 10_000, 'an invalid targeted field is ignored');
});
