import t from 'tap';
import { age, isOriginErrorOr504, startStandards, waitFor, within } from './harness.js';

t.test('RFC 5861 §3: stale-while-revalidate=N: within N past freshness the stale response is served at once and refreshed in the background', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const s = await startStandards(t, async (req, n) => {
    // The background refresh is held until the stale response is out: the client must not wait for it.
    if (n === 2) await held;
    return { headers: { 'cache-control': 'max-age=60, stale-while-revalidate=30' }, body: `${req.url} #${n}` };
  });
  await s.get('/swr');
  s.advance(70); // stale by 10 s, within 30
  const stale = await within(s.get('/swr'), 1_000, 'the stale response').finally(release);
  t.equal(stale.status, 200);
  t.equal(stale.body.toString(), '/swr #1', 'the stale body, at once');
  t.equal(age(stale), 70);
  // advance(0) runs a refresh the proxy may have queued on its clock without moving time.
  await waitFor(() => {
    s.clock.advance(0);
    return s.seen('/swr').length === 2;
  });
  // The refreshed response replaces the stored one once its background write lands.
  let refreshed = await s.get('/swr');
  for (let i = 0; i < 100 && refreshed.body.toString() !== '/swr #2'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    refreshed = await s.get('/swr');
  }
  t.equal(refreshed.body.toString(), '/swr #2', 'the background refresh is stored');
  t.equal(s.seen('/swr').length, 2, 'one background refresh, and no other origin request');

  s.advance(60 + 31); // the refreshed response (stored at 70 s) is stale by 31 s: past the window
  const late = await s.get('/swr');
  t.equal(s.seen('/swr').length, 3, 'past the window the client waits for the origin');
  t.equal(late.body.toString(), '/swr #3');
});

t.test('RFC 5861 §4: stale-if-error=N: a 500 within N past freshness gives the stale body; past N it gives the 500', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=60, stale-if-error=120' }, body: `${req.url} #${n}` }));
  await s.get('/sie');
  s.serve((req, n) => ({ status: 500, body: `${req.url} failed #${n}` }));
  s.advance(100); // stale by 40 s, within 120
  const rescued = await s.get('/sie');
  t.equal(s.seen('/sie').length, 2, 'the origin is asked');
  t.equal(rescued.status, 200, 'the error is hidden');
  t.equal(rescued.body.toString(), '/sie #1', 'by the stale body');

  s.advance(81); // stale by 121 s: past the window
  const failed = await s.get('/sie');
  t.equal(s.seen('/sie').length, 3);
  t.ok(isOriginErrorOr504(failed, '/sie failed #3'), `past N: the origin’s 500 or a 504, not the stale 200 (got ${failed.status})`);
  t.not(failed.body.toString(), '/sie #1');
});
