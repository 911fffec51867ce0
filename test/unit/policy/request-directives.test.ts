import t from 'tap';
import { decideClientRead, type StoredView } from '../../../src/policy/read-decision.js';
import { clientDirectives } from '../../../src/policy/request-directives.js';

t.test('RFC 9111 §5.2.1: request directives are parsed', async (t) => {
  t.match(clientDirectives({ 'cache-control': 'max-age=30, min-fresh=5, max-stale=60, only-if-cached' }), {
    maxAgeMs: 30_000,
    minFreshMs: 5_000,
    maxStaleMs: 60_000,
    onlyIfCached: true,
    noCache: false,
  });
  t.equal(clientDirectives({ 'cache-control': 'max-stale' }).maxStaleMs, Infinity, 'max-stale without a value accepts any staleness');
  t.equal(clientDirectives({ 'cache-control': 'max-age=0' }).noCache, true);
  t.equal(clientDirectives({ 'cache-control': 'max-age=x' }).maxAgeMs, 0, 'an unreadable max-age is the safe 0');
  t.equal(clientDirectives({ pragma: 'no-cache' }).noCache, true, '§5.4: Pragma without Cache-Control');
});

const fresh: StoredView = { state: 'fresh', ageMs: 10_000, freshForMs: 50_000, mustRevalidate: false };
const stale: StoredView = { state: 'expired', ageMs: 70_000, freshForMs: -10_000, mustRevalidate: false };
const read = (view: StoredView | null, cacheControl: string) => decideClientRead(view, clientDirectives({ 'cache-control': cacheControl })).action;

t.test('RFC 9111 §5.2.1.1: max-age', async (t) => {
  t.equal(read(fresh, 'max-age=20'), 'serve');
  t.equal(read(fresh, 'max-age=5'), 'fetch', 'older than the client accepts');
});

t.test('RFC 9111 §5.2.1.3: min-fresh', async (t) => {
  t.equal(read(fresh, 'min-fresh=40'), 'serve');
  t.equal(read(fresh, 'min-fresh=60'), 'fetch');
});

t.test('RFC 9111 §5.2.1.2: max-stale, never past must-revalidate', async (t) => {
  t.equal(read(stale, ''), 'fetch');
  t.equal(read(stale, 'max-stale=20'), 'serve-accepted-stale');
  t.equal(read(stale, 'max-stale=5'), 'fetch', 'staler than accepted');
  t.equal(read(stale, 'max-stale'), 'serve-accepted-stale');
  t.equal(read({ ...stale, mustRevalidate: true }, 'max-stale'), 'fetch');
});

t.test('RFC 9111 §5.2.1.7: only-if-cached never goes upstream', async (t) => {
  t.equal(read(null, 'only-if-cached'), 'unsatisfiable');
  t.equal(read(fresh, 'only-if-cached'), 'serve');
  t.equal(read(stale, 'only-if-cached'), 'unsatisfiable');
  t.equal(read(stale, 'only-if-cached, max-stale'), 'serve-accepted-stale');
});

t.test('RFC 9111 §5.2.1.4: no-cache revalidates even a fresh entry', async (t) => {
  t.same(decideClientRead(fresh, clientDirectives({ 'cache-control': 'no-cache' })), { action: 'fetch', staleFallback: true });
});

t.test('RFC 5861: stale windows of the response apply without request directives', async (t) => {
  t.equal(read({ ...stale, state: 'stale-while-revalidate' }, ''), 'serve-stale');
  t.same(decideClientRead({ ...stale, state: 'stale-if-error' }, clientDirectives({})), { action: 'fetch', staleFallback: true });
});
