import t from 'tap';
import { track } from '../../helpers/clock.js';
import { age, isOriginErrorOr504, startStandards, type OriginReply, type OriginScript, type Standards } from './harness.js';

/** 200 with `cacheControl` and ETag "v1", or a 304 (with `notModifiedCacheControl`) when "v1" is asked for. */
function validating(cacheControl: string, notModifiedCacheControl = cacheControl): OriginScript {
  return (req, n) => {
    const matches = req.headers['if-none-match'] === '"v1"';
    return matches
      ? { status: 304, headers: { 'cache-control': notModifiedCacheControl, etag: '"v1"' } }
      : { headers: { 'cache-control': cacheControl, etag: '"v1"' }, body: `${req.url} #${n}` };
  };
}

/** The origin now fails with a 500 (a fresh error, not the stored body). */
const failing: OriginScript = (req, n) => ({ status: 500, body: `${req.url} failed #${n}` });

/** The origin is gone (connections refused); the clock moves on while the proxy waits, in case its retry wait runs on it. */
async function whileOriginDown(s: Standards, path: string) {
  await s.origin.close();
  const response = s.get(path);
  const state = track(response);
  while (state.state === 'pending') {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (state.state === 'pending') s.advance(1);
  }
  return response;
}

t.test('RFC 9111 §4.3.1, §4.3.3, §4.3.4: a stale entry with an ETag is revalidated with If-None-Match; a 304 serves the stored body and freshens the entry', async (t) => {
  const s = await startStandards(t, validating('max-age=60', 'max-age=120'));
  await s.get('/etag');
  s.advance(61);
  const revalidated = await s.get('/etag');
  t.equal(s.seen('/etag').length, 2, 'the origin is asked');
  t.equal(s.seen('/etag')[1]!.headers['if-none-match'], '"v1"', 'with If-None-Match: the stored ETag');
  t.equal(revalidated.status, 200, 'the client gets a 200, not the 304');
  t.equal(revalidated.body.toString(), '/etag #1', 'with the stored body');

  s.advance(90);
  const hit = await s.get('/etag');
  t.equal(s.seen('/etag').length, 2, 'fresh again for the 304’s max-age=120');
  t.equal(hit.body.toString(), '/etag #1');
  t.equal(age(hit), 90, 'the age restarts at the 304');
  s.advance(31);
  await s.get('/etag');
  t.equal(s.seen('/etag').length, 3, 'and stale again once that ends');
});

t.test('RFC 9111 §4.3.4: a 304 naming another strong ETag renews nothing; the cache asks again without conditions', async (t) => {
  const s = await startStandards(t, (req, n): OriginReply => {
    if (n === 1) return { headers: { 'cache-control': 'max-age=60', etag: '"v1"' }, body: `${req.url} #${n}` };
    // A misbehaving origin: it answers the conditional request 304, about "v2".
    if (req.headers['if-none-match'] !== undefined) return { status: 304, headers: { 'cache-control': 'max-age=60', etag: '"v2"' } };
    return { headers: { 'cache-control': 'max-age=60', etag: '"v2"' }, body: `${req.url} #${n}` };
  });
  await s.get('/etag');
  s.advance(61);
  const answer = await s.get('/etag');
  const seen = s.seen('/etag');
  t.equal(seen.length, 3, 'the conditional request, then an unconditional one');
  t.equal(seen[1]!.headers['if-none-match'], '"v1"');
  t.equal(seen[2]!.headers['if-none-match'], undefined);
  t.equal(answer.status, 200);
  t.equal(answer.body.toString(), '/etag #3', 'the new representation, not the stored one renewed');
  t.equal(answer.headers['etag'], '"v2"');
  const hit = await s.get('/etag');
  t.equal(hit.body.toString(), '/etag #3', 'and it is what is stored now');
  t.equal(s.seen('/etag').length, 3);
});

t.test('RFC 9111 §4.3.4: a 304 with a matching weak ETag, or with no validator at all, renews the stored entry', async (t) => {
  for (const notModified of [{ etag: 'W/"v1"' }, {}] as Array<Record<string, string>>) {
    const s = await startStandards(t, (req, n): OriginReply =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { 'cache-control': 'max-age=60', ...notModified } }
        : { headers: { 'cache-control': 'max-age=60', etag: '"v1"' }, body: `${req.url} #${n}` },
    );
    await s.get('/etag');
    s.advance(61);
    const answer = await s.get('/etag');
    t.equal(answer.body.toString(), '/etag #1', `renewed by a 304 with ${JSON.stringify(notModified)}`);
    t.equal(s.seen('/etag').length, 2, 'one conditional request, nothing more');
  }
});

t.test('RFC 9111 §4.3.1: a stale entry with only Last-Modified is revalidated with If-Modified-Since', async (t) => {
  let lastModified = '';
  const s = await startStandards(t, (req, n): OriginReply => {
    if (n === 1) {
      lastModified = s.httpDate(-3600);
      return { headers: { 'cache-control': 'max-age=60', 'last-modified': lastModified }, body: `${req.url} #${n}` };
    }
    return req.headers['if-modified-since'] === lastModified
      ? { status: 304, headers: { 'cache-control': 'max-age=60' } }
      : { headers: { 'cache-control': 'max-age=60', 'last-modified': lastModified }, body: `${req.url} #${n}` };
  });
  await s.get('/last-modified');
  s.advance(61);
  const revalidated = await s.get('/last-modified');
  t.equal(s.seen('/last-modified').length, 2);
  t.equal(s.seen('/last-modified')[1]!.headers['if-modified-since'], lastModified, 'If-Modified-Since: the stored Last-Modified');
  t.equal(revalidated.status, 200);
  t.equal(revalidated.body.toString(), '/last-modified #1', 'the stored body after the 304');
});

for (const [directive, section] of [
  ['must-revalidate', '§5.2.2.2'],
  ['proxy-revalidate', '§5.2.2.8'],
] as const) {
  t.test(`RFC 9111 ${section}: ${directive} is stored, reused while fresh and revalidated when stale`, async (t) => {
    const s = await startStandards(t, validating(`max-age=60, ${directive}`));
    await s.get('/strict');
    s.advance(30);
    const hit = await s.get('/strict');
    t.equal(s.seen('/strict').length, 1, 'reused while fresh');
    t.equal(hit.body.toString(), '/strict #1');
    s.advance(31);
    const revalidated = await s.get('/strict');
    t.equal(s.seen('/strict').length, 2, 'revalidated when stale');
    t.equal(s.seen('/strict')[1]!.headers['if-none-match'], '"v1"');
    t.equal(revalidated.status, 200);
    t.equal(revalidated.body.toString(), '/strict #1');
  });

  t.test(`RFC 9111 ${section}, §4.2.4: ${directive}: a stale entry is not served when the origin answers 5xx`, async (t) => {
    const s = await startStandards(t, validating(`max-age=60, ${directive}`));
    await s.get('/strict');
    s.advance(61);
    s.serve(failing);
    const response = await s.get('/strict');
    t.equal(s.seen('/strict').length, 2, 'the origin was asked');
    t.ok(isOriginErrorOr504(response, '/strict failed #2'), `the origin’s 500 or a 504, not the stale 200 (got ${response.status})`);
    t.not(response.body.toString(), '/strict #1');
  });

  t.test(`RFC 9111 ${section}, §4.2.4: ${directive}: a stale entry is not served when the origin is down`, async (t) => {
    const s = await startStandards(t, validating(`max-age=60, ${directive}`));
    await s.get('/strict');
    s.advance(61);
    const response = await whileOriginDown(s, '/strict');
    t.ok(response.status >= 500 && response.status <= 599, `an error (${response.status}; RFC: SHOULD be 504)`);
    t.not(response.body.toString(), '/strict #1', 'not the stale body');
  });
}

t.test('RFC 9111 §5.2.2.10: s-maxage implies proxy-revalidate: a stale entry is not served when the origin answers 5xx', async (t) => {
  const s = await startStandards(t, validating('s-maxage=60'));
  await s.get('/s-strict');
  s.advance(30);
  t.equal((await s.get('/s-strict')).body.toString(), '/s-strict #1');
  t.equal(s.seen('/s-strict').length, 1, 'reused while fresh');
  s.advance(31);
  s.serve(failing);
  const response = await s.get('/s-strict');
  t.equal(s.seen('/s-strict').length, 2);
  t.ok(isOriginErrorOr504(response, '/s-strict failed #2'), `the origin’s 500 or a 504, not the stale 200 (got ${response.status})`);
  t.not(response.body.toString(), '/s-strict #1');
});

t.test('RFC 9111 §5.2.2.4: response no-cache is stored, but every use is revalidated (304 serves the stored body)', async (t) => {
  const s = await startStandards(t, validating('no-cache, max-age=3600'));
  t.equal((await s.get('/no-cache')).body.toString(), '/no-cache #1');
  for (const n of [2, 3]) {
    s.advance(1);
    const response = await s.get('/no-cache');
    t.equal(s.seen('/no-cache').length, n, `use ${n} goes to the origin`);
    t.equal(s.seen('/no-cache')[n - 1]!.headers['if-none-match'], '"v1"', 'as a revalidation of the stored response');
    t.equal(response.status, 200);
    t.equal(response.body.toString(), '/no-cache #1', 'the 304 serves the stored body');
  }
});

t.test('RFC 9111 §3, §4.2.2: a 5xx without freshness information is not replayed later in place of a fresh 5xx', async (t) => {
  const s = await startStandards(t, failing);
  t.equal((await s.get('/broken')).body.toString(), '/broken failed #1');
  s.advance(10);
  const later = await s.get('/broken');
  t.equal(s.seen('/broken').length, 2, 'the origin is asked again');
  t.equal(later.status, 500);
  t.equal(later.body.toString(), '/broken failed #2', 'the fresh 500');
});
