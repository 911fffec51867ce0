import t, { type Test } from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const BODY = 'abcdefghijklmnopqrstuvwxyz';

async function setup(t: Test, freshness: 'rule' | 'origin') {
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.setHeader('cache-control', 'max-age=60');
    res.setHeader('etag', '"alphabet"');
    res.end(BODY);
  });
  t.teardown(() => upstream.close());
  const rule = { path: '/*', scope: 'shared' as const, respectCacheControl: freshness === 'origin', freshness };
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [rule] }]));
  return { upstream, proxy };
}

for (const mode of ['rule', 'origin'] as const) {
  t.test(`RFC 9111 §3.3 / RFC 9110 §14.2 (${mode === 'origin' ? 'standards' : 'API'} mode): ranges are cut from the stored complete response`, async (t) => {
    const { upstream, proxy } = await setup(t, mode);
    const miss = await proxy.fetch('/api/letters', { headers: { range: 'bytes=0-4' } });
    t.equal(miss.status, 206, 'a miss is answered with the part');
    t.equal(miss.headers['content-range'], `bytes 0-4/${BODY.length}`);
    t.equal(miss.body.toString(), 'abcde');
    t.equal(upstream.received[0]!.headers['range'], undefined, 'the cache fetched the whole response');

    await new Promise((resolve) => setTimeout(resolve, 20));
    const suffix = await proxy.fetch('/api/letters', { headers: { range: 'bytes=-3' } });
    t.equal(suffix.headers['x-cache'], 'HIT');
    t.equal(suffix.status, 206);
    t.equal(suffix.headers['content-range'], `bytes 23-25/${BODY.length}`);
    t.equal(suffix.headers['content-length'], '3');
    t.equal(suffix.body.toString(), 'xyz');

    const outside = await proxy.fetch('/api/letters', { headers: { range: 'bytes=100-' } });
    t.equal(outside.status, 416, '§15.5.17: nothing satisfiable');
    t.equal(outside.headers['content-range'], `bytes */${BODY.length}`);

    const changed = await proxy.fetch('/api/letters', { headers: { range: 'bytes=0-4', 'if-range': '"older"' } });
    t.equal(changed.status, 200, '§13.1.5: If-Range does not match, so the whole response');
    t.equal(changed.body.toString(), BODY);

    const whole = await proxy.fetch('/api/letters');
    t.equal(whole.status, 200);
    t.equal(whole.body.toString(), BODY);
    t.equal(upstream.received.length, 1, 'every answer after the first came from the cache');
  });
}
