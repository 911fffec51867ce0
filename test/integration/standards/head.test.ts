import t from 'tap';
import { header, startStandards } from './harness.js';

t.test('RFC 9110 §9.3.2, RFC 9111 §4: a HEAD after a stored GET is answered from the cache, with the GET’s header fields and no body', async (t) => {
  const s = await startStandards(t, () => ({ headers: { 'cache-control': 'max-age=600', etag: '"v1"' }, body: 'hello, world' }));
  const get = await s.get('/doc');
  t.equal(header(get, 'content-length'), '12');
  s.advance(10);
  const head = await s.head('/doc');
  t.equal(s.seen('/doc').length, 1, 'the origin is not contacted');
  t.equal(head.status, 200);
  t.equal(head.body.length, 0, 'no body');
  t.equal(header(head, 'content-length'), '12', 'the GET’s Content-Length');
  t.equal(header(head, 'etag'), '"v1"');
  t.equal(header(head, 'content-type'), 'text/plain');
});

t.test('RFC 9111 §4.3.5: a HEAD response with a changed validator invalidates the stored GET', async (t) => {
  let version = 1;
  const s = await startStandards(t, () => ({
    headers: { 'cache-control': 'max-age=600', etag: `"v${version}"` },
    body: `version ${version} of the document`,
  }));
  await s.get('/doc');
  version = 2;
  s.advance(10);
  // no-cache makes the proxy ask the origin for this HEAD.
  const head = await s.head('/doc', { 'cache-control': 'no-cache' });
  t.equal(s.seen('/doc').length, 2, 'the HEAD reached the origin');
  t.equal(head.status, 200);
  t.equal(header(head, 'etag'), '"v2"', 'the client sees the new validator');

  const headWentAsHead = s.seen('/doc')[1]!.method === 'HEAD';
  const get = await s.get('/doc');
  t.equal(get.body.toString(), 'version 2 of the document', 'the next GET does not get the invalidated body');
  t.equal(header(get, 'etag'), '"v2"');
  if (headWentAsHead) t.equal(s.seen('/doc').length, 3, 'the next GET goes to the origin');
  else t.pass('the proxy fetched the HEAD as a GET, which replaced the stored response');
});
