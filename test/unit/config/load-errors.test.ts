/**
 * One case per malformed shape: each must produce exactly the documented problem line
 * (and nothing else), so a config mistake never surfaces as a stack trace or raw schema text.
 */
import t from 'tap';
import { baseConfig, load, problemsOf, tempDir, writeYaml } from './fixtures/helpers.js';

type Mutable = ReturnType<typeof baseConfig>;
const up = (c: Mutable) => c.upstreams[0] as Record<string, unknown>;
const rule = (c: Mutable) => (up(c)['rules'] as Record<string, unknown>[])[0] as Record<string, unknown>;

const DURATION = 'must be a duration like "30s", "5m" or a number of seconds';
const POSITIVE = 'must be a duration greater than 0 like "30s", "5m" or a number of seconds';
const SIZE = 'must be a size like "512KB", "256MB", "1GB" or a number of bytes';
const PORT = 'must be an integer from 0 to 65535';
const PREFIX = 'must be a path such as "/salesforce": starting with "/", no trailing "/", no "//", "." or ".." segments';
const METHODS = 'must be an HTTP method or a non-empty list of them (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)';
const HEADER = 'must be an HTTP header name such as "x-request-id"';
const SF_PATH = '/services/data/:version/sobjects/:type/:id';

const cases: [string, (c: Mutable) => void, string][] = [
  // server
  ['port out of range', (c) => (c['server'] = { port: 70000 }), `server.port: ${PORT}`],
  ['port negative', (c) => (c['server'] = { port: -1 }), `server.port: ${PORT}`],
  ['port fractional', (c) => (c['server'] = { port: 80.5 }), `server.port: ${PORT}`],
  ['port not a number', (c) => (c['server'] = { port: 'http' }), `server.port: ${PORT}`],
  ['unknown server key', (c) => (c['server'] = { prot: 80 }), 'server.prot: unknown key'],
  ['server not a mapping', (c) => (c['server'] = ['x']), 'server: must be a mapping of keys to values'],
  ['log level', (c) => (c['server'] = { logLevel: 'verbose' }), 'server.logLevel: must be one of fatal, error, warn, info, debug, trace, silent'],
  ['request id header', (c) => (c['server'] = { requestIdHeader: 'x id' }), `server.requestIdHeader: ${HEADER}`],
  ['body size', (c) => (c['server'] = { maxRequestBodyBytes: '1 parsec' }), `server.maxRequestBodyBytes: ${SIZE}`],
  ['negative size', (c) => (c['server'] = { maxKeyedBodyBytes: -5 }), `server.maxKeyedBodyBytes: ${SIZE}`],
  ['shutdown grace', (c) => (c['server'] = { shutdownGrace: 'soon' }), `server.shutdownGrace: ${DURATION}`],
  ['empty host', (c) => (c['server'] = { host: '' }), 'server.host: must be a host name or IP address'],
  // cache
  ['max entries zero', (c) => (c['cache'] = { memory: { maxEntries: 0 } }), 'cache.memory.maxEntries: must be a positive integer'],
  ['memory bytes', (c) => (c['cache'] = { memory: { maxBytes: '10 lots' } }), `cache.memory.maxBytes: ${SIZE}`],
  ['memory enabled', (c) => (c['cache'] = { memory: { enabled: 'yes' } }), 'cache.memory.enabled: must be true or false'],
  ['unknown memory key', (c) => (c['cache'] = { memory: { size: 1 } }), 'cache.memory.size: unknown key'],
  ['key secret not a string', (c) => (c['cache'] = { keySecret: ['a'] }), 'cache.keySecret: must be a string'],
  // top level
  ['unknown top-level key', (c) => (c['cach'] = {}), 'cach: unknown key'],
  ['upstreams missing', (c) => delete (c as Record<string, unknown>)['upstreams'], 'upstreams: is required'],
  ['upstreams empty', (c) => (c.upstreams = []), 'upstreams: must be a non-empty list of upstreams'],
  ['redact not a list', (c) => (c['redactQueryParams'] = 'token'), 'redactQueryParams: must be a list of query parameter names'],
  ['defaults unknown key', (c) => (c['defaults'] = { rules: {} }), 'defaults.rules: unknown key'],
  ['defaults rule unknown key', (c) => (c['defaults'] = { rule: { cache: false } }), 'defaults.rule.cache: unknown key'],
  ['defaults zero ttl', (c) => (c['defaults'] = { rule: { ttl: 0 } }), `defaults.rule.ttl: ${POSITIVE}`],
  ['defaults pool connections', (c) => (c['defaults'] = { pool: { connections: 2000 } }), 'defaults.pool.connections: must be an integer from 1 to 1024'],
  // upstream
  ['unknown upstream key', (c) => (up(c)['foo'] = 1), 'upstreams[0].foo: unknown key'],
  ['upstream name missing', (c) => delete up(c)['name'], 'upstreams[0].name: is required'],
  ['upstream name shape', (c) => (up(c)['name'] = 'Sales Force'), 'upstreams[0].name: must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter'],
  ['duplicate upstream name', (c) => c.upstreams.push({ name: 'sf', prefix: '/other', target: 'https://x.example.com' }), 'upstreams[1].name: duplicate upstream name "sf" (also upstreams[0].name)'],
  ['prefix without slash', (c) => (up(c)['prefix'] = 'sf'), `upstreams[0].prefix: ${PREFIX}`],
  ['prefix trailing slash', (c) => (up(c)['prefix'] = '/sf/'), `upstreams[0].prefix: ${PREFIX}`],
  ['prefix double slash', (c) => (up(c)['prefix'] = '/a//b'), `upstreams[0].prefix: ${PREFIX}`],
  ['prefix dot-dot', (c) => (up(c)['prefix'] = '/a/../b'), `upstreams[0].prefix: ${PREFIX}`],
  ['duplicate prefix', (c) => c.upstreams.push({ name: 'jira', prefix: '/sf', target: 'https://x.example.com' }), 'upstreams[1].prefix: duplicate prefix "/sf" (also upstreams[0].prefix)'],
  ['target scheme', (c) => (up(c)['target'] = 'ftp://files.example.com'), 'upstreams[0].target: must be an absolute http(s) URL'],
  ['target relative', (c) => (up(c)['target'] = '/api'), 'upstreams[0].target: must be an absolute http(s) URL'],
  ['target not a string', (c) => (up(c)['target'] = ['https://x']), 'upstreams[0].target: must be an absolute http(s) URL'],
  ['target with query', (c) => (up(c)['target'] = 'https://x.example.com/?a=1'), 'upstreams[0].target: must be an absolute http(s) URL without a query or fragment'],
  ['target with fragment', (c) => (up(c)['target'] = 'https://x.example.com/#top'), 'upstreams[0].target: must be an absolute http(s) URL without a query or fragment'],
  ['target with credentials', (c) => (up(c)['target'] = 'https://me:pw@x.example.com'), 'upstreams[0].target: must be an absolute http(s) URL without credentials (send them as request headers)'],
  ['target half interpolated', (c) => (up(c)['target'] = 'https://${SF_HOST}/api'), 'upstreams[0].target: must be an absolute http(s) URL (SF_HOST is not set)'],
  ['preset name shape', (c) => (up(c)['preset'] = '../etc'), 'upstreams[0].preset: must be a preset name such as "salesforce"'],
  ['unknown preset', (c) => (up(c)['preset'] = 'x'), 'upstreams[0].preset: unknown preset "x" (available: jira, salesforce)'],
  ['pool connections', (c) => (up(c)['pool'] = { connections: 0 }), 'upstreams[0].pool.connections: must be an integer from 1 to 1024'],
  ['pool timeout', (c) => (up(c)['pool'] = { connectTimeout: 'soon' }), `upstreams[0].pool.connectTimeout: ${DURATION}`],
  ['add header name', (c) => (up(c)['requestHeaders'] = { add: { 'bad header': 'x' } }), `upstreams[0].requestHeaders.add["bad header"]: ${HEADER}`],
  ['add header twice', (c) => (up(c)['requestHeaders'] = { add: { 'X-A': '1', 'x-a': '2' } }), 'upstreams[0].requestHeaders.add["x-a"]: header "x-a" is set twice'],
  ['add header value CRLF', (c) => (up(c)['requestHeaders'] = { add: { 'x-a': 'a\r\nx-evil: 1' } }), 'upstreams[0].requestHeaders.add["x-a"]: must be a header value without CR, LF or NUL'],
  ['remove header name', (c) => (up(c)['requestHeaders'] = { remove: ['x:y'] }), `upstreams[0].requestHeaders.remove[0]: ${HEADER}`],
  ['request headers unknown key', (c) => (up(c)['requestHeaders'] = { set: {} }), 'upstreams[0].requestHeaders.set: unknown key'],
  ['client no-cache', (c) => (up(c)['clientNoCache'] = 'always'), 'upstreams[0].clientNoCache: must be one of refresh, ignore'],
  ['upstream vary', (c) => (up(c)['vary'] = ['accept', 'bad header']), `upstreams[0].vary[1]: ${HEADER}`],
  ['rules not a list', (c) => (up(c)['rules'] = 'all'), 'upstreams[0].rules: must be a list of rules'],
  // rules
  ['unknown rule key', (c) => (rule(c)['tll'] = '5m'), 'upstreams[0].rules[0].tll: unknown key'],
  ['rule path missing', (c) => delete rule(c)['path'], 'upstreams[0].rules[0].path: is required'],
  ['rule path relative', (c) => (rule(c)['path'] = 'items'), 'upstreams[0].rules[0].path: must be a path pattern starting with "/"'],
  ['rule path empty segment', (c) => (rule(c)['path'] = '/a//b'), 'upstreams[0].rules[0].path: must not contain empty segments ("//" or a trailing "/")'],
  ['rule path trailing slash', (c) => (rule(c)['path'] = '/a/'), 'upstreams[0].rules[0].path: must not contain empty segments ("//" or a trailing "/")'],
  ['rule path dot-dot', (c) => (rule(c)['path'] = '/a/../b'), 'upstreams[0].rules[0].path: must not contain "." or ".." segments'],
  ['rule path inner star', (c) => (rule(c)['path'] = '/a/*/b'), 'upstreams[0].rules[0].path: "*" is only allowed as the last segment'],
  ['rule path partial star', (c) => (rule(c)['path'] = '/a/b*'), 'upstreams[0].rules[0].path: segment "b*" must be a literal (no spaces, "?", "#" or "*"), a ":param" or a final "*"'],
  ['rule path query', (c) => (rule(c)['path'] = '/a?x=1'), 'upstreams[0].rules[0].path: segment "a?x=1" must be a literal (no spaces, "?", "#" or "*"), a ":param" or a final "*"'],
  ['rule param name', (c) => (rule(c)['path'] = '/a/:1st'), 'upstreams[0].rules[0].path: parameter ":1st" must be ":" then letters, digits or "_", not starting with a digit'],
  ['rule param twice', (c) => (rule(c)['path'] = '/:id/x/:id'), 'upstreams[0].rules[0].path: parameter ":id" appears twice'],
  ['rule name shape', (c) => (rule(c)['name'] = 'my rule'), 'upstreams[0].rules[0].name: must be 1-64 letters, digits, ".", "_" or "-"'],
  ['duplicate rule name', (c) => (up(c)['rules'] = [{ name: 'r', path: '/a' }, { name: 'r', path: '/b' }]), 'upstreams[0].rules[1].name: duplicate rule name "r" (also upstreams[0].rules[0])'],
  ['rule methods unknown', (c) => (rule(c)['methods'] = ['GET', 'FETCH']), `upstreams[0].rules[0].methods: ${METHODS}`],
  ['rule methods empty', (c) => (rule(c)['methods'] = []), `upstreams[0].rules[0].methods: ${METHODS}`],
  ['rule ttl', (c) => (rule(c)['ttl'] = 'soon'), `upstreams[0].rules[0].ttl: ${DURATION}`],
  ['rule ttl zero', (c) => (rule(c)['ttl'] = '0s'), `upstreams[0].rules[0].ttl: ${POSITIVE}`],
  ['rule negative ttl', (c) => (rule(c)['negativeTtl'] = 'never'), `upstreams[0].rules[0].negativeTtl: ${DURATION}`],
  ['rule negative ttl zero', (c) => (rule(c)['negativeTtl'] = 0), `upstreams[0].rules[0].negativeTtl: ${POSITIVE}`],
  ['rule scope', (c) => (rule(c)['scope'] = 'global'), 'upstreams[0].rules[0].scope: must be one of authorization, session, shared'],
  ['rule status', (c) => (rule(c)['statuses'] = [200, 99]), 'upstreams[0].rules[0].statuses[1]: must be an HTTP status from 100 to 599'],
  ['rule statuses not a list', (c) => (rule(c)['statuses'] = 200), 'upstreams[0].rules[0].statuses: must be a list of HTTP statuses such as [200, 203]'],
  ['rule max body', (c) => (rule(c)['maxBodyBytes'] = 'huge'), `upstreams[0].rules[0].maxBodyBytes: ${SIZE}`],
  ['rule query value', (c) => (rule(c)['query'] = { q: [1] }), 'upstreams[0].rules[0].query.q: must be a string (exact value), true (present) or false (absent)'],
  ['rule vary', (c) => (rule(c)['vary'] = ['a b']), `upstreams[0].rules[0].vary[0]: ${HEADER}`],
  ['rule cache flag', (c) => (rule(c)['cache'] = 'no'), 'upstreams[0].rules[0].cache: must be true or false'],
  ['tag unknown param', (c) => Object.assign(rule(c), { path: SF_PATH, tags: ['sf:{type}:{idx}'] }), 'upstreams[0].rules[0].tags[0]: unknown path param "idx" (path has: version, type, id)'],
  ['tag without params', (c) => Object.assign(rule(c), { path: '/a', tags: ['x:{id}'] }), 'upstreams[0].rules[0].tags[0]: unknown path param "id" (path has: no params)'],
  ['tag unmatched brace', (c) => (rule(c)['tags'] = ['x:{id']), 'upstreams[0].rules[0].tags[0]: has an unmatched "{" or "}"'],
  ['tag empty', (c) => (rule(c)['tags'] = ['']), 'upstreams[0].rules[0].tags[0]: must be a non-empty template such as "sf:{type}:{id}"'],
  ['invalidates unknown param', (c) => Object.assign(rule(c), { methods: ['PUT'], cache: false, invalidates: ['x:{key}'] }), 'upstreams[0].rules[0].invalidates[0]: unknown path param "key" (path has: id)'],
  ['invalidates on a read rule', (c) => (rule(c)['invalidates'] = ['x:{id}']), 'upstreams[0].rules[0].invalidates: only a write rule (POST/PUT/PATCH/DELETE with cache: false) can invalidate'],
  ['bodyKey on GET', (c) => (rule(c)['bodyKey'] = true), 'upstreams[0].rules[0].bodyKey: can only be true when methods include POST, PUT or PATCH'],
  ['cacheable POST without bodyKey', (c) => (rule(c)['methods'] = 'POST'), 'upstreams[0].rules[0].bodyKey: must be true when a POST/PUT/PATCH/DELETE rule is cacheable'],
  ['cacheable GET+PATCH without bodyKey', (c) => (rule(c)['methods'] = ['GET', 'patch']), 'upstreams[0].rules[0].bodyKey: must be true when a POST/PUT/PATCH/DELETE rule is cacheable'],
  ['cacheable DELETE', (c) => (rule(c)['methods'] = ['DELETE']), 'upstreams[0].rules[0].cache: must be false for a DELETE rule (a DELETE response is never cached)'],
  ['stale window', (c) => (rule(c)['staleIfError'] = 'forever'), `upstreams[0].rules[0].staleIfError: ${DURATION}`],
  ['refreshAhead flag', (c) => (rule(c)['refreshAhead'] = 'yes'), 'upstreams[0].rules[0].refreshAhead: must be true or false'],
  ['protection failure rate', (c) => (up(c)['protection'] = { breaker: { failureRate: 2 } }), 'upstreams[0].protection.breaker.failureRate: must be a number above 0 and at most 1'],
  ['protection unknown key', (c) => (up(c)['protection'] = { maxConcurent: 4 }), 'upstreams[0].protection.maxConcurent: unknown key'],
  ['concurrency unknown key', (c) => (up(c)['protection'] = { concurrency: { limit: 4 } }), 'upstreams[0].protection.concurrency.limit: unknown key'],
  ['concurrency not a mapping', (c) => (up(c)['protection'] = { concurrency: 32 }), 'upstreams[0].protection.concurrency: must be a mapping of keys to values'],
  ['concurrency initial zero', (c) => (up(c)['protection'] = { concurrency: { initial: 0 } }), 'upstreams[0].protection.concurrency.initial: must be an integer from 1 to 1024'],
  ['concurrency min fractional', (c) => (up(c)['protection'] = { concurrency: { min: 2.5 } }), 'upstreams[0].protection.concurrency.min: must be an integer from 1 to 1024'],
  ['concurrency max too large', (c) => (up(c)['protection'] = { concurrency: { max: 5000 } }), 'upstreams[0].protection.concurrency.max: must be an integer from 1 to 1024'],
  ['concurrency tolerance at 1', (c) => (up(c)['protection'] = { concurrency: { latencyTolerance: 1 } }), 'upstreams[0].protection.concurrency.latencyTolerance: must be a number above 1 and at most 100'],
  ['concurrency min above max', (c) => (up(c)['protection'] = { concurrency: { min: 64, max: 32 } }), 'upstreams[0].protection.concurrency.min: must be at most concurrency.max (32)'],
  ['concurrency initial above max', (c) => (up(c)['protection'] = { concurrency: { initial: 64, max: 32 } }), 'upstreams[0].protection.concurrency.initial: must be from concurrency.min (4) to concurrency.max (32)'],
  ['concurrency initial below min', (c) => (up(c)['protection'] = { concurrency: { initial: 2, min: 8 } }), 'upstreams[0].protection.concurrency.initial: must be from concurrency.min (8) to concurrency.max (256)'],
  ['concurrency max above pool', (c) => Object.assign(up(c), { pool: { connections: 32 }, protection: { concurrency: { max: 64 } } }), 'upstreams[0].protection.concurrency.max: must be at most pool.connections (32), or undici queues the excess out of sight'],
  ['defaults concurrency max above pool', (c) => (c['defaults'] = { pool: { connections: 8 }, protection: { concurrency: { max: 16 } } }), 'upstreams[0].protection.concurrency.max: must be at most pool.connections (8), or undici queues the excess out of sight'],
  ['legacy maxConcurrent above pool', (c) => Object.assign(up(c), { pool: { connections: 8 }, protection: { maxConcurrent: 16 } }), 'upstreams[0].protection.maxConcurrent: must be at most pool.connections (8), or undici queues the excess out of sight'],
  ['legacy maxConcurrent with concurrency', (c) => (up(c)['protection'] = { maxConcurrent: 16, concurrency: { max: 16 } }), 'upstreams[0].protection.maxConcurrent: cannot be set with concurrency (it is the old spelling of concurrency: { initial: 16, min: 16, max: 16 })'],
  ['legacy maxConcurrent zero', (c) => (up(c)['protection'] = { maxConcurrent: 0 }), 'upstreams[0].protection.maxConcurrent: must be an integer from 1 to 1024'],
  ['max queue negative', (c) => (up(c)['protection'] = { maxQueue: -1 }), 'upstreams[0].protection.maxQueue: must be an integer from 0 to 1000000'],
  ['queue timeout zero', (c) => (up(c)['protection'] = { queueTimeout: 0 }), 'upstreams[0].protection.queueTimeout: must be above 0'],
  ['queue timeout shape', (c) => (up(c)['protection'] = { queueTimeout: 'patience' }), `upstreams[0].protection.queueTimeout: ${DURATION}`],
  ['protection bucket above window', (c) => (up(c)['protection'] = { breaker: { window: '1s', bucket: '2s' } }), 'upstreams[0].protection.breaker.bucket: must be above 0 and at most breaker.window'],
  ['rate limit subject', (c) => (up(c)['rateLimit'] = { by: 'cookie' }), 'upstreams[0].rateLimit.by: must be one of session, user, ip'],
  ['rate limit refill', (c) => (up(c)['rateLimit'] = { refillPerSecond: 0 }), 'upstreams[0].rateLimit.refillPerSecond: must be a number above 0'],
  ['refresh-ahead lead', (c) => (c['cache'] = { refreshAhead: { lead: 0.9 } }), 'cache.refreshAhead.lead: must be a fraction of the ttl above 0 and at most 0.5'],
  // interpolation
  ['bad variable reference', (c) => (c['server'] = { host: '${1HOST}' }), 'server.host: invalid variable reference "${1HOST}" (expected ${NAME} or ${NAME:-default})'],
  ['unterminated reference', (c) => (c['server'] = { port: '${PORT' }), 'server.port: unterminated "${" (write "$${" for a literal "${")'],
];

for (const [name, mutate, expected] of cases) {
  t.test(name, async (t) => {
    const config = baseConfig();
    mutate(config);
    t.strictSame(problemsOf(t, config), [expected]);
  });
}

t.test('every violation is reported at once, schema and semantic alike', async (t) => {
  const config = baseConfig();
  config['server'] = { port: 'x', extra: true };
  config.upstreams.push({ name: 'jira', prefix: '/jira', target: 'gopher://x', rules: [{ path: '/a', ttl: 'x' }] });
  config.upstreams.push({ name: 'sf', prefix: '/other', target: '', rules: [{ path: '/a', tags: ['{nope}'] }] });
  t.strictSame(problemsOf(t, config), [
    'server.extra: unknown key',
    'server.port: must be an integer from 0 to 65535',
    'upstreams[1].rules[0].ttl: must be a duration like "30s", "5m" or a number of seconds',
    'upstreams[2].rules[0].tags[0]: unknown path param "nope" (path has: no params)',
    'upstreams[2].name: duplicate upstream name "sf" (also upstreams[0].name)',
  ]);
});

t.test('YAML syntax errors become one problem with line and column', async (t) => {
  t.strictSame(problemsOf(t, 'upstreams:\n  - name: sf\n    prefix: [/sf\n'), [
    '(file): YAML syntax error at line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  t.strictSame(problemsOf(t, 'server: {}\nserver: {}\n'), [
    '(file): YAML syntax error at line 2, column 1: Map keys must be unique',
  ]);
});

t.test('an empty file, a list at the root and a missing file are problems too', async (t) => {
  t.strictSame(problemsOf(t, ''), ['(root): the file is empty; expected a mapping with an "upstreams" list']);
  t.strictSame(problemsOf(t, '- a\n- b\n'), ['(root): must be a mapping of keys to values']);
  const dir = tempDir(t);
  const { loadConfig, ConfigError } = await import('../../../src/config/load.js');
  const missing = `${dir}/nope.yaml`;
  t.throws(() => loadConfig({ path: missing, env: {} }), new ConfigError(missing, [`(file): cannot read ${missing} (file not found)`]));
});

t.test('problems in a preset file name the preset', async (t) => {
  const presets = tempDir(t);
  writeYaml(t, { rules: [{ path: '/a', ttl: 'x' }, { path: '/b', tags: ['{id}'] }], extra: 1 }, presets, 'broken.yaml');
  writeYaml(t, 'rules: [', presets, 'syntax.yaml');
  const config = baseConfig();
  up(config)['preset'] = 'broken';
  t.strictSame(problemsOf(t, config, {}, presets), [
    'presets.broken.extra: unknown key',
    'presets.broken.rules[0].ttl: must be a duration like "30s", "5m" or a number of seconds',
  ]);
  up(config)['preset'] = 'syntax';
  const [line] = problemsOf(t, config, {}, presets);
  t.match(line, /^presets\.syntax: YAML syntax error at line 1, column \d+: /);
  up(config)['preset'] = 'none';
  t.strictSame(problemsOf(t, config, {}, presets), ['upstreams[0].preset: unknown preset "none" (available: broken, syntax)']);
});

t.test('storage settings: bad Redis and Postgres URLs and bad tier settings name their key', async (t) => {
  const problems = problemsOf(
    t,
    [
      'cache:',
      '  namespace: "bad namespace"',
      '  redis: { url: "http://secret:pw@host:6379", readTimeout: soon }',
      '  postgres: { writeQueue: 0 }',
      '  breaker: { failureThreshold: -1 }',
      'database: { url: "mysql://u:pw@h/db", poolSize: 0 }',
      'upstreams: [{ name: a, prefix: /a, target: "http://x" }]',
    ].join('\n'),
  );
  t.ok(problems.some((p) => p.startsWith('cache.namespace: ')), 'namespace');
  t.ok(problems.some((p) => p.startsWith('cache.redis.readTimeout: must be a duration')), 'redis read timeout');
  t.ok(problems.some((p) => p.startsWith('cache.postgres.writeQueue: must be an integer from 1')), 'write queue');
  t.ok(problems.some((p) => p.startsWith('cache.breaker.failureThreshold: ')), 'breaker');
  t.ok(problems.some((p) => p.startsWith('database.poolSize: ')), 'pool size');
  t.notMatch(problems.join('\n'), /pw/, 'URLs with passwords are never echoed');
});

t.test('a Redis or Postgres URL with the wrong scheme is refused without echoing it', async (t) => {
  const yaml = [
    'cache: { redis: { url: "${REDIS_URL}" } }',
    'database: { url: "${DATABASE_URL}" }',
    'upstreams: [{ name: a, prefix: /a, target: "http://x" }]',
  ].join('\n');
  t.strictSame(problemsOf(t, yaml, { REDIS_URL: 'http://u:hunter2@h:6379', DATABASE_URL: 'mysql://u:hunter2@h/db' }), [
    'cache.redis.url: must use one of redis://, rediss://, redis+sentinel://, redis+cluster://',
    'database.url: must use one of postgres://, postgresql://',
  ]);
  const ok = load(t, yaml, { REDIS_URL: 'redis+sentinel://h1:26379,h2:26379/mymaster', DATABASE_URL: 'postgres://u@h/db' });
  t.equal(ok.config.cache.redis.url, 'redis+sentinel://h1:26379,h2:26379/mymaster');
  t.equal(ok.config.database.url, 'postgres://u@h/db');
});
