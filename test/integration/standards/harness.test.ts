import t from 'tap';
import { age, startStandards } from './harness.js';

t.test('harness: the origin is reached through the standards-mode upstream and a max-age=60 response is reused', async (t) => {
  const s = await startStandards(t);
  const first = await s.get('/harness');
  t.equal(first.status, 200);
  t.equal(first.body.toString(), '/harness #1');
  t.equal(s.seen('/harness').length, 1, 'the origin was reached');
  t.equal(s.seen('/harness')[0]!.method, 'GET');

  s.advance(30);
  const second = await s.get('/harness');
  t.equal(second.status, 200);
  t.equal(second.body.toString(), '/harness #1', 'the stored response');
  t.equal(s.seen('/harness').length, 1, 'the origin was not asked again');
});

t.test('RFC 9111 §4.2.3: Age of a stored response is its resident time', async (t) => {
  const s = await startStandards(t);
  await s.get('/aged');
  s.advance(30);
  const hit = await s.get('/aged');
  t.equal(s.seen('/aged').length, 1);
  t.equal(age(hit), 30, 'Age: 30');
});
