import t from 'tap';
import { startStandards } from './harness.js';

const auth = { authorization: 'Bearer conformance-token' };

t.test('RFC 9111 §3.5: a response to a request with Authorization is not stored by a shared cache without public, s-maxage or must-revalidate', async (t) => {
  const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `${req.url} #${n}` }));
  await s.get('/authed', auth);
  t.equal(s.seen('/authed')[0]!.headers['authorization'], auth.authorization, 'the credentials reach the origin');
  s.advance(10);
  const second = await s.get('/authed', auth);
  t.equal(s.seen('/authed').length, 2, 'not reused');
  t.equal(second.body.toString(), '/authed #2');
});

for (const [cacheControl, section] of [
  ['public, max-age=600', '§5.2.2.9'],
  ['s-maxage=600', '§5.2.2.10'],
  ['max-age=600, must-revalidate', '§5.2.2.2'],
] as const) {
  t.test(`RFC 9111 §3.5, ${section}: with "${cacheControl}" a response to a request with Authorization is stored and reused`, async (t) => {
    const s = await startStandards(t, (req, n) => ({ headers: { 'cache-control': cacheControl }, body: `${req.url} #${n}` }));
    await s.get('/authed', auth);
    s.advance(10);
    const second = await s.get('/authed', auth);
    t.equal(s.seen('/authed').length, 1, 'reused');
    t.equal(second.status, 200);
    t.equal(second.body.toString(), '/authed #1');
  });
}
