import t from 'tap';
import { age, startStandards } from './harness.js';

t.test('RFC 9111 §5.2.1.1: request max-age=N: a stored response older than N is not used', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `${req.url} #${n}` }));
  await s.get('/r');
  s.advance(100);
  const young = await s.get('/r', { 'cache-control': 'max-age=200' });
  t.equal(s.seen('/r').length, 1, 'age 100 <= 200: served from the cache');
  t.equal(young.body.toString(), '/r #1');
  t.equal(age(young), 100);
  const old = await s.get('/r', { 'cache-control': 'max-age=50' });
  t.equal(s.seen('/r').length, 2, 'age 100 > 50: the origin is asked');
  t.equal(old.body.toString(), '/r #2');
});

t.test('RFC 9111 §5.2.1.2: request max-stale[=N]: a stale response within N is served without contacting the origin', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `${req.url} #${n}` }));
  await s.get('/r');
  s.advance(90); // stale by 30 s
  const within = await s.get('/r', { 'cache-control': 'max-stale=60' });
  t.equal(s.seen('/r').length, 1, 'stale by 30 s, max-stale=60: served from the cache');
  t.equal(within.status, 200);
  t.equal(within.body.toString(), '/r #1');
  t.equal(age(within), 90);
  const beyond = await s.get('/r', { 'cache-control': 'max-stale=10' });
  t.equal(s.seen('/r').length, 2, 'stale by 30 s, max-stale=10: the origin is asked');
  t.equal(beyond.body.toString(), '/r #2');

  s.advance(60 + 600); // the new response is stale by 600 s
  const any = await s.get('/r', { 'cache-control': 'max-stale' });
  t.equal(s.seen('/r').length, 2, 'max-stale without a value accepts any staleness');
  t.equal(any.body.toString(), '/r #2');
});

t.test('RFC 9111 §5.2.1.3: request min-fresh=N: the response must stay fresh for N more seconds', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `${req.url} #${n}` }));
  await s.get('/r');
  s.advance(30); // 30 s of freshness left
  const enough = await s.get('/r', { 'cache-control': 'min-fresh=20' });
  t.equal(s.seen('/r').length, 1, '30 s left >= 20: served from the cache');
  t.equal(enough.body.toString(), '/r #1');
  const notEnough = await s.get('/r', { 'cache-control': 'min-fresh=40' });
  t.equal(s.seen('/r').length, 2, '30 s left < 40: the origin is asked');
  t.equal(notEnough.body.toString(), '/r #2');
});

t.test('RFC 9111 §5.2.1.7: request only-if-cached: a stored fresh response is served; with nothing stored, 504 and no origin contact', async (t) => {
  const s = await startStandards(t);
  await s.get('/cached');
  s.advance(10);
  const cached = await s.get('/cached', { 'cache-control': 'only-if-cached' });
  t.equal(cached.status, 200);
  t.equal(cached.body.toString(), '/cached #1');
  t.equal(s.seen('/cached').length, 1);

  const missing = await s.get('/never-stored', { 'cache-control': 'only-if-cached' });
  t.equal(missing.status, 504, 'Gateway Timeout');
  t.equal(s.seen('/never-stored').length, 0, 'the origin is not contacted');
});

t.test('RFC 9111 §5.2.1.4, §5.4: request no-cache (or Pragma: no-cache) does not use the stored response without the origin', async (t) => {
  // The origin ignores validators: any contact returns a new full response.
  const s = await startStandards(t);
  await s.get('/r');
  s.advance(1);
  const forced = await s.get('/r', { 'cache-control': 'no-cache' });
  t.equal(s.seen('/r').length, 2, 'the origin is asked');
  t.equal(forced.body.toString(), '/r #2', 'and its answer is served');
  const pragma = await s.get('/r', { pragma: 'no-cache' });
  t.equal(s.seen('/r').length, 3, 'Pragma: no-cache without Cache-Control does the same');
  t.equal(pragma.body.toString(), '/r #3');
});

t.test('RFC 9111 §5.2.1.5: request no-store: the response is not stored', async (t) => {
  const s = await startStandards(t);
  const first = await s.get('/r', { 'cache-control': 'no-store' });
  t.equal(first.body.toString(), '/r #1');
  const second = await s.get('/r');
  t.equal(s.seen('/r').length, 2, 'nothing was stored: the next request goes to the origin');
  t.equal(second.body.toString(), '/r #2');
});
