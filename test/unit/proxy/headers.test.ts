import t from 'tap';
import {
  cacheableRequestHeaders,
  compileRequestHeaderPlan,
  forwardRequestHeaders,
  forwardResponseHeaders,
  PROXY_USER_AGENT,
  storableResponseHeaders,
} from '../../../src/proxy/headers.js';

const emptyPlan = compileRequestHeaderPlan({ add: {}, remove: [] }, []);

/** Lower-case names of a flat [name, value, …] list. */
function names(flat: readonly string[]): string[] {
  return flat.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

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

t.test('cacheableRequestHeaders', async (t) => {
  const keyed = { vary: ['accept'], mediaTypes: [] as string[], bodyKeyed: false };
  const as = (flat: readonly string[]) => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), flat[i + 1]]] : [])));

  t.test('issue 11: drops every client header the key does not cover', async (t) => {
    const raw = [
      'Sforce-Query-Options', 'batchSize=200', 'X-Forwarded-Host', 'evil.example', 'Forwarded', 'host=evil.example',
      'X-Original-URL', '/admin', 'X-HTTP-Method-Override', 'DELETE', 'Accept-Language', 'fr', 'Cache-Control', 'no-cache',
      'If-None-Match', '"x"', 'Accept-Encoding', 'gzip', 'Content-Length', '12', 'Content-Type', 'application/json',
      'User-Agent', 'curl/8', 'Accept', 'application/json',
    ];
    t.same(cacheableRequestHeaders(raw, emptyPlan, 'rid', keyed), ['accept', 'application/json', 'user-agent', PROXY_USER_AGENT, 'x-request-id', 'rid']);
  });

  t.test('forwards credentials and trace context unkeyed', async (t) => {
    const raw = ['Authorization', 'Bearer a', 'Cookie', 'a=1', 'Cookie', 'b=2', 'traceparent', '00-1-2-01', 'tracestate', 'x=y'];
    const out = as(cacheableRequestHeaders(raw, emptyPlan, 'rid', keyed));
    t.equal(out['authorization'], 'Bearer a');
    t.equal(out['cookie'], 'a=1; b=2', 'joined as Node joins cookies');
    t.equal(out['traceparent'], '00-1-2-01');
    t.equal(out['tracestate'], 'x=y');
  });

  t.test('forwards a vary header with the value it is keyed by, as one field', async (t) => {
    const out = cacheableRequestHeaders(['X-Tenant', 'a', 'x-tenant', 'b'], emptyPlan, 'rid', { ...keyed, vary: ['x-tenant'] });
    t.same(out.slice(0, 2), ['x-tenant', 'a, b']);
  });

  t.test('sends the negotiated Accept, including for a client that sent none', async (t) => {
    const types = { ...keyed, mediaTypes: ['application/json', 'application/xml'] };
    t.equal(as(cacheableRequestHeaders(['Accept', '*/*'], emptyPlan, 'rid', types))['accept'], 'application/json');
    t.equal(as(cacheableRequestHeaders([], emptyPlan, 'rid', types))['accept'], 'application/json');
    t.equal(as(cacheableRequestHeaders(['Accept', 'text/html'], emptyPlan, 'rid', types))['accept'], 'text/html', 'unselected: as sent');
  });

  t.test('does not send a keyed header that is absent, empty or "*" for Accept-Language', async (t) => {
    const vary = { ...keyed, vary: ['accept-language', 'x-tenant'] };
    t.same(names(cacheableRequestHeaders(['Accept-Language', '*', 'X-Tenant', ''], emptyPlan, 'rid', vary)), ['user-agent', 'x-request-id']);
  });

  t.test('forwards Content-Type and Content-Encoding only when the body is keyed; never Content-Length', async (t) => {
    const raw = ['Content-Type', 'application/json', 'Content-Encoding', 'gzip', 'Content-Length', '5'];
    t.same(names(cacheableRequestHeaders(raw, emptyPlan, 'rid', keyed)), ['user-agent', 'x-request-id']);
    t.same(names(cacheableRequestHeaders(raw, emptyPlan, 'rid', { ...keyed, bodyKeyed: true })), ['content-type', 'content-encoding', 'user-agent', 'x-request-id']);
  });

  t.test('the client User-Agent goes only when keyed; the config may set its own', async (t) => {
    t.equal(as(cacheableRequestHeaders(['User-Agent', 'curl/8'], emptyPlan, 'rid', { ...keyed, vary: ['user-agent'] }))['user-agent'], 'curl/8');
    const plan = compileRequestHeaderPlan({ add: { 'user-agent': 'acme-sync' }, remove: [] }, []);
    const out = cacheableRequestHeaders(['User-Agent', 'curl/8'], plan, 'rid', keyed);
    t.same(out.filter((v) => /curl|sidecache|acme/.test(v)), ['acme-sync']);
  });

  t.test('always sends the plan\'s added headers, overriding a keyed client value', async (t) => {
    const plan = compileRequestHeaderPlan({ add: { 'accept-encoding': 'gzip', 'x-api-key': 'k' }, remove: [] }, []);
    const out = cacheableRequestHeaders(['Accept-Encoding', 'br', 'X-Api-Key', 'client'], plan, 'rid', { ...keyed, vary: ['x-api-key'] });
    t.same(out, ['user-agent', PROXY_USER_AGENT, 'accept-encoding', 'gzip', 'x-api-key', 'k', 'x-request-id', 'rid']);
  });

  t.test('the plan\'s removals, hop-by-hop fields and Connection-named fields never go', async (t) => {
    const plan = compileRequestHeaderPlan({ add: {}, remove: ['x-tenant'] }, ['x-session-token']);
    const vary = { ...keyed, vary: ['x-tenant', 'x-session-token', 'te', 'x-b'] };
    const raw = ['X-Tenant', 't', 'X-Session-Token', 's', 'TE', 'trailers', 'Connection', 'x-b', 'X-B', '1', 'X-Request-Id', 'spoofed'];
    t.same(cacheableRequestHeaders(raw, plan, 'rid', vary), ['user-agent', PROXY_USER_AGENT, 'x-request-id', 'rid']);
  });
});
