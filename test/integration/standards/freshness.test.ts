import t from 'tap';
import { age, startStandards } from './harness.js';

const DAY = 86_400;

t.test('RFC 9111 §4.2: a response without explicit freshness and without Last-Modified is not reused without revalidation', async (t) => {
  const s = await startStandards(t, (req, n) => ({ body: `${req.url} #${n}` }));
  t.equal((await s.get('/plain')).body.toString(), '/plain #1');
  s.advance(1);
  const second = await s.get('/plain');
  t.equal(s.seen('/plain').length, 2, 'the origin is asked again');
  t.equal(second.body.toString(), '/plain #2');
});

t.test('RFC 9111 §4.2.2: heuristic freshness from Last-Modified: reused early in the interval, revalidated well after', async (t) => {
  // Last modified 10 days before Date: a typical 10% heuristic gives one day.
  let lastModified = '';
  const s = await startStandards(t, (req, n) => {
    if (n === 1) lastModified = s.httpDate(-10 * DAY);
    return { headers: { 'last-modified': lastModified }, body: `${req.url} #${n}` };
  });
  await s.get('/heuristic');
  s.advance(DAY / 10); // 1% of the interval
  const early = await s.get('/heuristic');
  t.equal(s.seen('/heuristic').length, 1, 'fresh at 1% of Date - Last-Modified');
  t.equal(early.body.toString(), '/heuristic #1');
  t.equal(age(early), DAY / 10);

  // Past the heuristic lifetime (10 % of the interval, one day) and within keepExpired (1 h).
  s.advance(DAY - DAY / 10 + 30 * 60);
  const late = await s.get('/heuristic');
  t.equal(s.seen('/heuristic').length, 2, 'stale once the heuristic lifetime is over: the origin is asked');
  t.equal(s.seen('/heuristic')[1]!.headers['if-modified-since'], lastModified, 'with If-Modified-Since: the stored Last-Modified');
  t.equal(late.status, 200);
  t.equal(late.body.toString(), '/heuristic #2');
});

t.test('RFC 9111 §4.2.2: no heuristic freshness for a status that is not heuristically cacheable (201, 500)', async (t) => {
  for (const status of [201, 500]) {
    await t.test(String(status), async (t) => {
      const s = await startStandards(t, (req, n) => ({ status, headers: { 'last-modified': s.httpDate(-10 * DAY) }, body: `${req.url} #${n}` }));
      await s.get('/created');
      s.advance(1);
      const second = await s.get('/created');
      t.equal(s.seen('/created').length, 2, 'not stored: the origin is asked again');
      t.equal(second.status, status);
      t.equal(second.body.toString(), '/created #2');
    });
  }
});

t.test('RFC 9111 §5.3: Expires without max-age gives the freshness lifetime (Expires - Date)', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { expires: s.httpDate(60) }, body: `${req.url} #${n}` }));
  await s.get('/expires');
  s.advance(59);
  const fresh = await s.get('/expires');
  t.equal(s.seen('/expires').length, 1, 'fresh before Expires');
  t.equal(fresh.body.toString(), '/expires #1');
  t.equal(age(fresh), 59);
  s.advance(1);
  const stale = await s.get('/expires');
  t.equal(s.seen('/expires').length, 2, 'stale at Expires');
  t.equal(stale.body.toString(), '/expires #2');
});

t.test('RFC 9111 §5.3: max-age wins over Expires, in both directions', async (t) => {
  const s = await startStandards(t, (req, n) =>
    req.url === '/short-max-age'
      ? { headers: { 'cache-control': 'max-age=60', expires: s.httpDate(3600) }, body: `${req.url} #${n}` }
      : { headers: { 'cache-control': 'max-age=3600', expires: s.httpDate(-60) }, body: `${req.url} #${n}` },
  );
  await s.get('/short-max-age');
  await s.get('/long-max-age');
  s.advance(120);
  const long = await s.get('/long-max-age');
  t.equal(s.seen('/long-max-age').length, 1, 'max-age=3600 holds although Expires is in the past');
  t.equal(long.body.toString(), '/long-max-age #1');
  const short = await s.get('/short-max-age');
  t.equal(s.seen('/short-max-age').length, 2, 'max-age=60 has ended although Expires is an hour away');
  t.equal(short.body.toString(), '/short-max-age #2');
});

t.test('RFC 9111 §5.3: an invalid Expires ("0") means already expired, and no heuristic applies', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { expires: '0', 'last-modified': s.httpDate(-10 * DAY) }, body: `${req.url} #${n}` }));
  await s.get('/expires-zero');
  s.advance(1);
  const second = await s.get('/expires-zero');
  t.equal(s.seen('/expires-zero').length, 2, 'stale: the origin is asked again');
  t.equal(second.body.toString(), '/expires-zero #2');
});

t.test('RFC 9111 §4.2.3: Age from upstream counts toward the age (max-age=3600 with Age: 7200 is stale on arrival)', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=3600', age: '7200' }, body: `${req.url} #${n}` }));
  const first = await s.get('/old');
  t.ok(age(first) >= 7200, 'the client is told the response is at least 7200 s old');
  const second = await s.get('/old');
  t.equal(s.seen('/old').length, 2, 'stale on arrival: the next request goes to the origin');
  t.equal(second.body.toString(), '/old #2');
});

t.test('RFC 9111 §4.2.3, §5.1: Age sent to clients grows with resident time and includes the upstream Age', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=3600', age: '100' }, body: `${req.url} #${n}` }));
  const first = await s.get('/resident');
  t.equal(age(first), 100, 'the miss carries the upstream Age');
  s.advance(50);
  const hit = await s.get('/resident');
  t.equal(s.seen('/resident').length, 1);
  t.equal(age(hit), 150, '100 upstream + 50 resident');
  s.advance(50);
  t.equal(age(await s.get('/resident')), 200, '100 upstream + 100 resident');
});

t.test('RFC 9111 §4.2.3: a Date in the past gives an apparent age that counts toward the age', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=60' }, date: s.httpDate(-30), body: `${req.url} #${n}` }));
  await s.get('/dated');
  s.advance(20);
  const hit = await s.get('/dated');
  t.equal(s.seen('/dated').length, 1, 'fresh: 30 s apparent age + 20 s resident < 60');
  t.equal(age(hit), 50, 'Age: 30 apparent + 20 resident');
  s.advance(10);
  const stale = await s.get('/dated');
  t.equal(s.seen('/dated').length, 2, 'stale once 30 + 30 reaches max-age=60');
  t.equal(stale.body.toString(), '/dated #2');
});

t.test('RFC 9111 §5.2.2.10: s-maxage overrides max-age in a shared cache, in both directions', async (t) => {
  const s = await startStandards(t, (req, n) => ({
    headers: { 'cache-control': req.url === '/s-longer' ? 'max-age=10, s-maxage=120' : 'max-age=3600, s-maxage=10' },
    body: `${req.url} #${n}`,
  }));
  await s.get('/s-longer');
  await s.get('/s-shorter');
  s.advance(60);
  const longer = await s.get('/s-longer');
  t.equal(s.seen('/s-longer').length, 1, 's-maxage=120 keeps it fresh past max-age=10');
  t.equal(longer.body.toString(), '/s-longer #1');
  const shorter = await s.get('/s-shorter');
  t.equal(s.seen('/s-shorter').length, 2, 's-maxage=10 ends it before max-age=3600');
  t.equal(shorter.body.toString(), '/s-shorter #2');
});
