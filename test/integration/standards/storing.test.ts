import t from 'tap';
import { header, startStandards, type OriginScript } from './harness.js';

/** 200, fresh for 10 minutes, ETag "v1", an `x-secret` field, `directives` added to Cache-Control; 304 when "v1" is asked for. */
const withSecret =
  (directives: string): OriginScript =>
  (req, n) => {
    const headers = { 'cache-control': `max-age=600, ${directives}`, etag: '"v1"', 'x-secret': `secret #${n}` };
    return req.headers['if-none-match'] === '"v1"' ? { status: 304, headers } : { headers, body: `${req.url} #${n}` };
  };

for (const [directive, section] of [
  ['private="x-secret"', '§5.2.2.7'],
  ['no-cache="x-secret"', '§5.2.2.4'],
] as const) {
  t.test(`RFC 9111 ${section}: ${directive}: stored, but the named field is not sent from the cache without revalidation`, async (t) => {
    const s = await startStandards(t, withSecret(directive));
    const first = await s.get('/named');
    t.equal(header(first, 'x-secret'), 'secret #1', 'the response that was fetched carries the field');
    s.advance(10);
    const second = await s.get('/named');
    t.equal(second.status, 200);
    t.equal(second.body.toString(), '/named #1', 'the stored response is used');
    const asked = s.seen('/named');
    if (asked.length === 1) {
      t.equal(header(second, 'x-secret'), undefined, 'served from the cache without the named field');
    } else {
      t.equal(asked.length, 2);
      t.equal(asked[1]!.headers['if-none-match'], '"v1"', 'or the stored response was revalidated first');
    }
  });
}

t.test('RFC 9111 §5.2.2.7: unqualified private: not stored by a shared cache', async (t) => {
  const s = await startStandards(t, withSecret('private'));
  await s.get('/private');
  s.advance(10);
  const second = await s.get('/private');
  t.equal(s.seen('/private').length, 2, 'the origin is asked again');
  t.equal(s.seen('/private')[1]!.headers['if-none-match'], undefined, 'unconditionally: nothing was stored');
  t.equal(second.body.toString(), '/private #2');
});

t.test('RFC 9111 §5.2.2.5: no-store: not stored', async (t) => {
  const s = await startStandards(t, withSecret('no-store'));
  await s.get('/no-store');
  s.advance(10);
  const second = await s.get('/no-store');
  t.equal(s.seen('/no-store').length, 2, 'the origin is asked again');
  t.equal(s.seen('/no-store')[1]!.headers['if-none-match'], undefined, 'unconditionally: nothing was stored');
  t.equal(second.body.toString(), '/no-store #2');
});
