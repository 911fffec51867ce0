import t from 'tap';
import { startStandards } from './harness.js';

t.test('RFC 9213 §2.2, §3.1: CDN-Cache-Control: max-age=60 with Cache-Control: no-store is stored and reused for 60 s', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cdn-cache-control': 'max-age=60', 'cache-control': 'no-store' }, body: `${req.url} #${n}` }));
  await s.get('/cdn');
  s.advance(59);
  const hit = await s.get('/cdn');
  t.equal(s.seen('/cdn').length, 1, 'reused within 60 s');
  t.equal(hit.body.toString(), '/cdn #1');
  s.advance(1);
  const stale = await s.get('/cdn');
  t.equal(s.seen('/cdn').length, 2, 'stale at 60 s');
  t.equal(stale.body.toString(), '/cdn #2');
});

t.test('RFC 9213 §2.2: CDN-Cache-Control takes precedence over Cache-Control max-age, in both directions', async (t) => {
  const s = await startStandards(t, (req, n) => ({
    headers:
      req.url === '/cdn-shorter'
        ? { 'cdn-cache-control': 'max-age=60', 'cache-control': 'max-age=3600' }
        : { 'cdn-cache-control': 'max-age=3600', 'cache-control': 'max-age=10' },
    body: `${req.url} #${n}`,
  }));
  await s.get('/cdn-shorter');
  await s.get('/cdn-longer');
  s.advance(61);
  const shorter = await s.get('/cdn-shorter');
  t.equal(s.seen('/cdn-shorter').length, 2, 'CDN-Cache-Control max-age=60 ends it before Cache-Control max-age=3600');
  t.equal(shorter.body.toString(), '/cdn-shorter #2');
  const longer = await s.get('/cdn-longer');
  t.equal(s.seen('/cdn-longer').length, 1, 'CDN-Cache-Control max-age=3600 keeps it past Cache-Control max-age=10');
  t.equal(longer.body.toString(), '/cdn-longer #1');
});
