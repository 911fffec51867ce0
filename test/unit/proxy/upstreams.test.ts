import t from 'tap';
import { compileUpstream } from '../../../src/proxy/upstreams.js';
import { upstream } from '../../helpers/config.js';

t.test("cacheable requests carry the proxy's own Accept-Encoding; pass-through requests the client's", async (t) => {
  const compiled = compileUpstream(upstream({ target: 'http://127.0.0.1:1', requestHeaders: { add: { 'x-api': 'v1' }, remove: ['x-drop'] } }));
  t.notOk(compiled.headerPlan.remove.has('accept-encoding'));
  t.same(compiled.headerPlan.add, ['x-api', 'v1']);
  t.ok(compiled.cacheableHeaderPlan.remove.has('accept-encoding'), "the client's value is dropped");
  t.ok(compiled.cacheableHeaderPlan.remove.has('x-drop'), 'the configured rewrite still applies');
  t.same(compiled.cacheableHeaderPlan.add, ['x-api', 'v1', 'accept-encoding', 'gzip, br']);
});

t.test('a config that adds or removes Accept-Encoding is followed on cacheable requests too', async (t) => {
  const added = compileUpstream(upstream({ target: 'http://127.0.0.1:1', requestHeaders: { add: { 'Accept-Encoding': 'gzip' }, remove: [] } }));
  t.same(added.cacheableHeaderPlan.add, ['Accept-Encoding', 'gzip']);
  const removed = compileUpstream(upstream({ target: 'http://127.0.0.1:1', requestHeaders: { add: {}, remove: ['accept-encoding'] } }));
  t.same(removed.cacheableHeaderPlan.add, []);
  t.ok(removed.cacheableHeaderPlan.remove.has('accept-encoding'));
});
