import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const json = { 'content-type': 'application/json' };

t.test('a body-keyed POST is cached by its canonicalised JSON body', async (t) => {
  const upstream = await startFakeUpstream((_req, res, body) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ echoed: JSON.parse(body.toString()) }));
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/search/jql', methods: ['POST'], bodyKey: true }] }]),
  );

  const first = await proxy.fetch('/api/search/jql', { method: 'POST', headers: json, body: '{"jql":"project = X","maxResults":50}' });
  t.equal(first.headers['x-cache'], 'MISS');
  t.same(first.json(), { echoed: { jql: 'project = X', maxResults: 50 } });
  t.equal(upstream.received[0]!.body.toString(), '{"jql":"project = X","maxResults":50}', 'the upstream gets the body as sent');

  const reordered = await proxy.fetch('/api/search/jql', { method: 'POST', headers: json, body: '{ "maxResults": 50,\n "jql": "project = X" }' });
  t.equal(reordered.headers['x-cache'], 'HIT', 'key order and whitespace do not matter');
  t.same(reordered.body, first.body);

  const nextPage = await proxy.fetch('/api/search/jql', {
    method: 'POST',
    headers: json,
    body: '{"jql":"project = X","maxResults":50,"nextPageToken":"abc"}',
  });
  t.equal(nextPage.headers['x-cache'], 'MISS', 'each page is its own entry');
  t.equal(upstream.received.length, 2);
});

t.test('a body-keyed request over the keyed-body limit is refused with 413', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/search', methods: ['POST'], bodyKey: true }] }], {
      server: { maxKeyedBodyBytes: 100 },
    }),
  );
  const response = await proxy.fetch('/api/search', { method: 'POST', headers: json, body: JSON.stringify({ q: 'x'.repeat(200) }) });
  t.equal(response.status, 413);
  t.equal((response.json() as { error: string }).error, 'request_body_too_large');
  t.equal(upstream.received.length, 0);
});
