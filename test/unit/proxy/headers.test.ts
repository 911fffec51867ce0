import t from 'tap';
import {
  compileRequestHeaderPlan,
  connectionTokens,
  forwardRequestHeaders,
  forwardResponseHeaders,
  headerValue,
  storableResponseHeaders,
} from '../../../src/proxy/headers.js';

const emptyPlan = compileRequestHeaderPlan({ add: {}, remove: [] }, []);

/** Lower-case names of a flat [name, value, …] list. */
function names(flat: readonly string[]): string[] {
  return flat.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

t.test('connectionTokens', async (t) => {
  t.test('returns an empty set for an absent header', async (t) => {
    t.same([...connectionTokens(undefined)], []);
  });

  t.test('splits a comma list, trims and lower-cases tokens', async (t) => {
    t.same([...connectionTokens(' Keep-Alive ,X-Foo,  x-BAR')], ['keep-alive', 'x-foo', 'x-bar']);
  });

  t.test('merges tokens from repeated header values', async (t) => {
    t.same([...connectionTokens(['close', 'X-One, x-two'])].sort(), ['close', 'x-one', 'x-two']);
  });

  t.test('ignores empty list elements', async (t) => {
    t.same([...connectionTokens(',, ,a,')], ['a']);
  });
});

t.test('compileRequestHeaderPlan', async (t) => {
  t.test('always removes host, configured removes, extra removes and added names', async (t) => {
    const plan = compileRequestHeaderPlan({ add: { 'x-api-key': 'k' }, remove: ['cookie'] }, ['x-internal']);
    t.same([...plan.remove].sort(), ['cookie', 'host', 'x-api-key', 'x-internal']);
  });

  t.test('flattens adds into name/value pairs', async (t) => {
    const plan = compileRequestHeaderPlan({ add: { 'x-a': '1', 'x-b': '2' }, remove: [] }, []);
    t.same(plan.add, ['x-a', '1', 'x-b', '2']);
  });
});

t.test('forwardRequestHeaders', async (t) => {
  for (const name of [
    'Connection',
    'Keep-Alive',
    'Proxy-Connection',
    'TE',
    'Trailer',
    'Transfer-Encoding',
    'Upgrade',
    'Proxy-Authorization',
    'Proxy-Authenticate',
  ]) {
    t.test(`drops hop-by-hop field ${name}`, async (t) => {
      const out = forwardRequestHeaders([name, 'x', 'Accept', 'text/plain'], emptyPlan, 'rid');
      t.notOk(names(out).includes(name.toLowerCase()));
      t.same(out, ['Accept', 'text/plain', 'x-request-id', 'rid']);
    });
  }

  t.test('drops fields named in Connection, case-insensitively', async (t) => {
    const raw = ['Connection', 'X-Secret, keep-alive', 'x-SECRET', 's', 'Accept', '*/*'];
    t.same(forwardRequestHeaders(raw, emptyPlan, 'rid'), ['Accept', '*/*', 'x-request-id', 'rid']);
  });

  t.test('drops fields named in any of several Connection headers', async (t) => {
    const raw = ['x-one', '1', 'Connection', 'X-One', 'x-two', '2', 'connection', 'x-two', 'x-three', '3'];
    t.same(forwardRequestHeaders(raw, emptyPlan, 'rid'), ['x-three', '3', 'x-request-id', 'rid']);
  });

  t.test('drops a field named in Connection even when it appears before the Connection header', async (t) => {
    const raw = ['X-Early', 'e', 'Connection', 'x-early'];
    t.same(forwardRequestHeaders(raw, emptyPlan, 'rid'), ['x-request-id', 'rid']);
  });

  t.test('drops host', async (t) => {
    const out = forwardRequestHeaders(['Host', 'sidecache:8080', 'Accept', 'a'], emptyPlan, 'rid');
    t.same(out, ['Accept', 'a', 'x-request-id', 'rid']);
  });

  t.test('drops configured removes regardless of the client casing', async (t) => {
    const plan = compileRequestHeaderPlan({ add: {}, remove: ['cookie', 'x-debug'] }, []);
    const out = forwardRequestHeaders(['Cookie', 'c=1', 'X-DEBUG', '1', 'Accept', 'a'], plan, 'rid');
    t.same(out, ['Accept', 'a', 'x-request-id', 'rid']);
  });

  t.test('keeps repeated fields, their order and original name case', async (t) => {
    const raw = ['X-Multi', 'one', 'accept', 'a', 'x-multi', 'two', 'X-MULTI', 'three'];
    t.same(forwardRequestHeaders(raw, emptyPlan, 'rid'), [
      'X-Multi', 'one', 'accept', 'a', 'x-multi', 'two', 'X-MULTI', 'three', 'x-request-id', 'rid',
    ]);
  });

  t.test('appends configured adds after the client headers', async (t) => {
    const plan = compileRequestHeaderPlan({ add: { 'x-api-key': 'k1', 'x-tenant': 't' }, remove: [] }, []);
    const out = forwardRequestHeaders(['Accept', 'a'], plan, 'rid');
    t.same(out, ['Accept', 'a', 'x-api-key', 'k1', 'x-tenant', 't', 'x-request-id', 'rid']);
  });

  t.test('configured adds replace the client value of the same header', async (t) => {
    const plan = compileRequestHeaderPlan({ add: { 'x-api-key': 'server' }, remove: [] }, []);
    const out = forwardRequestHeaders(['X-Api-Key', 'client', 'Accept', 'a'], plan, 'rid');
    t.same(out, ['Accept', 'a', 'x-api-key', 'server', 'x-request-id', 'rid']);
  });

  t.test('appends x-request-id last', async (t) => {
    const out = forwardRequestHeaders(['Accept', 'a'], emptyPlan, 'req-42');
    t.same(out.slice(-2), ['x-request-id', 'req-42']);
  });

  t.test('replaces a client x-request-id with the proxy one', async (t) => {
    const out = forwardRequestHeaders(['X-Request-Id', 'spoofed', 'x-request-id', 'again'], emptyPlan, 'real');
    t.same(out, ['x-request-id', 'real']);
  });

  t.test('keeps end-to-end fields such as authorization and cookie by default', async (t) => {
    const raw = ['Authorization', 'Bearer t', 'Cookie', 'a=b', 'Accept-Encoding', 'gzip'];
    t.same(forwardRequestHeaders(raw, emptyPlan, 'rid'), [...raw, 'x-request-id', 'rid']);
  });

  t.test('does not mutate the input list', async (t) => {
    const raw = ['Connection', 'x-a', 'x-a', '1'];
    const copy = [...raw];
    forwardRequestHeaders(raw, emptyPlan, 'rid');
    t.same(raw, copy);
  });
});

t.test('forwardResponseHeaders', async (t) => {
  t.test('keeps set-cookie as an array', async (t) => {
    const out = forwardResponseHeaders({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
    t.same(out, { 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
  });

  t.test('drops hop-by-hop fields', async (t) => {
    const out = forwardResponseHeaders({
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'x',
      te: 'trailers',
      trailer: 'x-checksum',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'proxy-authenticate': 'Basic',
      'content-type': 'application/json',
    });
    t.same(out, { 'content-type': 'application/json' });
  });

  t.test('drops fields named in Connection, case-insensitively', async (t) => {
    const out = forwardResponseHeaders({ connection: 'X-Internal, X-Trace', 'x-internal': '1', 'x-trace': 't', etag: '"e"' });
    t.same(out, { etag: '"e"' });
  });

  t.test('drops fields named in repeated Connection values', async (t) => {
    const out = forwardResponseHeaders({ connection: ['x-a', 'x-b'], 'x-a': '1', 'x-b': '2', 'x-c': '3' });
    t.same(out, { 'x-c': '3' });
  });

  t.test('skips undefined values', async (t) => {
    t.same(forwardResponseHeaders({ 'x-a': undefined, 'x-b': 'b' }), { 'x-b': 'b' });
  });

  t.test('keeps content-length and age (only storage drops them)', async (t) => {
    t.same(forwardResponseHeaders({ 'content-length': '5', age: '3' }), { 'content-length': '5', age: '3' });
  });
});

t.test('storableResponseHeaders', async (t) => {
  t.test('drops content-length, age and set-cookie', async (t) => {
    const out = storableResponseHeaders({
      'content-length': '10',
      age: '4',
      'set-cookie': ['a=1'],
      'content-type': 'text/plain',
      etag: '"x"',
    });
    t.same(out, { 'content-type': 'text/plain', etag: '"x"' });
  });

  t.test('drops hop-by-hop fields', async (t) => {
    const out = storableResponseHeaders({ connection: 'close', 'transfer-encoding': 'chunked', vary: 'accept' });
    t.same(out, { vary: 'accept' });
  });

  t.test('keeps array values as arrays', async (t) => {
    t.same(storableResponseHeaders({ link: ['<a>', '<b>'] }), { link: ['<a>', '<b>'] });
  });
});

t.test('headerValue', async (t) => {
  t.test('returns a single value unchanged', async (t) => {
    t.equal(headerValue({ accept: 'text/html' }, 'accept'), 'text/html');
  });

  t.test('joins repeated values with ", "', async (t) => {
    t.equal(headerValue({ accept: ['text/html', 'application/json'] }, 'accept'), 'text/html, application/json');
  });

  t.test('returns undefined for an absent header', async (t) => {
    t.equal(headerValue({}, 'accept'), undefined);
  });
});
