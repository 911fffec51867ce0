import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError, formatConfigError, loadConfig } from '../../../src/config/load.js';
import { baseConfig, load, problemsOf, tempDir, writeYaml } from './fixtures/helpers.js';

const SHIPPED = fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url));

t.test('a minimal config gets every documented default', async (t) => {
  const { config, warnings } = load(t, baseConfig());
  t.strictSame(warnings, []);
  t.strictSame(config.server, {
    host: '0.0.0.0',
    port: 8080,
    maxRequestBodyBytes: 1024 ** 3,
    maxKeyedBodyBytes: 1024 ** 2,
    shutdownGraceMs: 10_000,
    requestIdHeader: 'x-request-id',
    logLevel: 'info',
    maxHeaderBytes: 16 * 1024,
    directHitWrites: true,
    batchHitWrites: true,
    requestBody: { idleTimeoutMs: 10_000, minBytesPerSecond: 1024, minRateAfterMs: 10_000, bufferUpToBytes: 1024 ** 2 },
  });
  t.strictSame(config.sessions, {
    header: 'x-session-token',
    cookie: null,
    userHeader: 'x-user-id',
    mint: false,
    ttlMs: 30 * 86_400_000,
    touchIntervalMs: 60_000,
    cleanupIntervalMs: 3_600_000,
    forwardIdentityHeaders: false,
  });
  t.strictSame(config.audit, {
    enabled: true,
    flushIntervalMs: 100,
    batchSize: 500,
    bufferMax: 100_000,
    spoolDir: 'data/audit-spool',
    retentionDays: 90,
    partitionsAheadMonths: 2,
    trustedProxies: [],
    failClosed: false,
    ipAddress: 'full',
    userAgent: 'full',
  });
  t.strictSame(config.admin, { host: '127.0.0.1', port: 9090, token: null });
  t.strictSame(config.cache, {
    keySecret: null,
    encryption: { key: null, keys: null },
    namespace: 'default',
    memory: { enabled: true, maxBytes: 256 * 1024 ** 2, maxEntries: 100_000 },
    redis: { url: null, readTimeoutMs: 50, compressAboveBytes: 8192, writeQueueSize: 10_000 },
    postgres: { enabled: true, readTimeoutMs: 250, writeQueueSize: 10_000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
    breaker: { failureThreshold: 5, cooldownMs: 5000 },
    refreshAhead: { budgetPerMinute: 60, lead: 0.1, maxTracked: 10_000 },
  });
  t.strictSame(config.database, { url: null, dataDir: './data', poolSize: 10, statementTimeoutMs: 5000, connectTimeoutMs: 5000 });
  t.strictSame(config.redactQueryParams, [
    'access_token', 'refresh_token', 'token', 'id_token', 'client_secret', 'password', 'api_key',
    'apikey', 'key', 'sig', 'signature', 'code', 'session', 'sessionid', 'sid',
  ]);
  const [upstream] = config.upstreams;
  t.equal(upstream?.target?.href, 'https://sf.example.com/');
  t.strictSame(upstream?.pool, { connections: 256, connectTimeoutMs: 5000, headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000 });
  t.strictSame(upstream?.requestHeaders, { add: {}, remove: [] });
  t.equal(upstream?.clientNoCache, 'refresh');
  t.strictSame(upstream?.vary, ['accept']);
  t.strictSame(upstream?.mediaTypes, []);
  t.strictSame(upstream?.protection, {
    concurrency: { initial: 32, min: 4, max: 256, latencyTolerance: 2 },
    maxQueue: 10_000,
    queueTimeoutMs: 10_000,
    breaker: { windowMs: 10_000, bucketMs: 1_000, minimumCalls: 20, failureRate: 0.5, openMs: 15_000, halfOpenProbes: 3 },
    retryAfterMaxMs: 600_000,
    retryAfterDefaultMs: 30_000,
    retryOnReset: true,
    retryJitterMs: 100,
  });
  t.equal(upstream?.rateLimit, null, 'callers are not rate limited unless configured');
  t.strictSame(upstream?.rules, [
    {
      name: 'sf.rule0',
      methods: ['GET'],
      path: '/items/:id',
      query: {},
      cache: true,
      ttlMs: 300_000,
      scope: 'authorization',
      vary: [],
      tags: [],
      statuses: [200, 203],
      negativeTtlMs: null,
      maxBodyBytes: 1024 ** 2,
      bodyKey: false,
      respectCacheControl: false,
        freshness: 'rule',
        keepExpiredMs: 3_600_000,
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 7_200_000,
      refreshAhead: false,
      invalidates: [],
      action: null,
      resourceType: null,
      resourceId: null,
    },
  ]);
});

t.test('values are normalised: units, case, trailing slash, single method, empty secret', async (t) => {
  const { config } = load(t, {
    server: { port: 0, requestIdHeader: 'X-Request-ID', maxKeyedBodyBytes: '64kib', shutdownGrace: 2.5 },
    cache: { keySecret: 's3cret', memory: { enabled: false } },
    redactQueryParams: ['Token', 'token', 'SIG'],
    upstreams: [
      {
        name: 'jira',
        prefix: '/',
        target: 'http://jira.local:8080/base/',
        requestHeaders: { add: { 'X-Api-Version': 2 }, remove: ['X-Internal', 'x-internal'] },
        clientNoCache: 'ignore',
        vary: ['Accept-Language'],
        rules: [
          { name: 'search', methods: 'post', path: '/search/*', bodyKey: true, query: { q: 'true', debug: false }, negativeTtl: '30s', vary: ['X-Foo'], statuses: [200, 200, 204] },
          { methods: ['put', 'DELETE'], path: '/issue/:key', cache: false, invalidates: ['jira:issue:{key}'] },
        ],
      },
    ],
  });
  t.equal(config.server.port, 0);
  t.equal(config.server.requestIdHeader, 'x-request-id');
  t.equal(config.server.maxKeyedBodyBytes, 64 * 1024);
  t.equal(config.server.shutdownGraceMs, 2500);
  t.strictSame(config.cache.keySecret, 's3cret');
  t.strictSame(config.cache.memory, { enabled: false, maxBytes: 256 * 1024 ** 2, maxEntries: 100_000 });
  t.strictSame(config.redactQueryParams, ['token', 'sig']);
  const upstream = config.upstreams[0]!;
  t.equal(upstream.prefix, '/');
  t.equal(upstream.target?.href, 'http://jira.local:8080/base');
  t.strictSame(upstream.requestHeaders, { add: { 'x-api-version': '2' }, remove: ['x-internal'] });
  t.equal(upstream.clientNoCache, 'ignore');
  t.strictSame(upstream.vary, ['accept-language']);
  const [search, write] = upstream.rules;
  t.match(search, { name: 'search', methods: ['POST'], bodyKey: true, query: { q: 'true', debug: false }, negativeTtlMs: 30_000, vary: ['x-foo'], statuses: [200, 204] });
  t.match(write, { name: 'jira.rule1', methods: ['PUT', 'DELETE'], cache: false, invalidates: ['jira:issue:{key}'] });
});

t.test('defaults: pool and rule settings apply unless an upstream or rule overrides them', async (t) => {
  const config = baseConfig();
  config['defaults'] = { pool: { connections: 4, headersTimeout: '2s' }, rule: { ttl: '1m', scope: 'shared', statuses: [200], maxBodyBytes: '10KB' } };
  config.upstreams[0]!['pool'] = { connections: 8 };
  config.upstreams[0]!['rules'] = [{ path: '/a' }, { path: '/b', ttl: 10, scope: 'session', statuses: [200, 404], maxBodyBytes: 1 }];
  const upstream = load(t, config).config.upstreams[0]!;
  t.strictSame(upstream.pool, { connections: 8, connectTimeoutMs: 5000, headersTimeoutMs: 2000, bodyTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000 });
  t.match(upstream.rules[0], { ttlMs: 60_000, scope: 'shared', statuses: [200], maxBodyBytes: 10 * 1024 });
  t.match(upstream.rules[1], { ttlMs: 10_000, scope: 'session', statuses: [200, 404], maxBodyBytes: 1 });
});

t.test('environment values are coerced only where the schema expects another type', async (t) => {
  const config = baseConfig();
  config['server'] = { port: '${PORT:-8080}', host: '${HOST:-127.0.0.1}' };
  config['cache'] = { memory: { enabled: '${MEM:-true}', maxBytes: '${MEM_BYTES:-1MB}', maxEntries: '${MEM_ENTRIES}' } };
  config.upstreams[0]!['rules'] = [{ path: '/a', ttl: '${TTL:-90}', query: { flag: '${FLAG:-true}' } }];
  const env = { PORT: '9000', MEM: 'false', MEM_BYTES: '4096', MEM_ENTRIES: '50' };
  const loaded = load(t, config, env).config;
  t.equal(loaded.server.port, 9000);
  t.equal(loaded.server.host, '127.0.0.1');
  t.strictSame(loaded.cache.memory, { enabled: false, maxBytes: 4096, maxEntries: 50 });
  t.equal(loaded.upstreams[0]!.rules[0]!.ttlMs, 90_000);
  t.strictSame(loaded.upstreams[0]!.rules[0]!.query, { flag: 'true' }, 'a string condition stays a string');
  t.equal(load(t, config, { MEM_ENTRIES: '5' }).config.server.port, 8080, 'the default applies when PORT is unset');
  t.strictSame(problemsOf(t, config, {}), ['cache.memory.maxEntries: must be a positive integer (MEM_ENTRIES is not set)']);
});

t.test('$${ keeps a literal ${ in a value', async (t) => {
  const config = baseConfig();
  config.upstreams[0]!['requestHeaders'] = { add: { 'x-template': '$${USER}' } };
  t.strictSame(load(t, config, { USER: 'root' }).config.upstreams[0]!.requestHeaders.add, { 'x-template': '${USER}' });
});

t.test('an upstream whose target is empty is kept disabled, with a warning naming the variable', async (t) => {
  const config = baseConfig();
  config.upstreams[0]!['target'] = '${SF_URL}';
  config.upstreams.push({ name: 'jira', prefix: '/jira', target: '${JIRA_URL:-}' });
  config.upstreams.push({ name: 'other', prefix: '/other', target: '' });
  const { config: loaded, warnings } = load(t, config, { JIRA_URL: '' });
  t.strictSame(loaded.upstreams.map((u) => u.target), [null, null, null]);
  t.strictSame(warnings, [
    'upstream "sf" is disabled: SF_URL is not set',
    'upstream "jira" is disabled: JIRA_URL is not set',
    'upstream "other" is disabled: its target is empty',
    'no upstream is enabled: every target is empty',
  ]);
});

t.test('the result is deeply frozen', async (t) => {
  const { config } = load(t, baseConfig());
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(config.server));
  t.ok(Object.isFrozen(config.upstreams));
  t.ok(Object.isFrozen(config.upstreams[0]!.rules[0]!.methods));
  t.ok(Object.isFrozen(config.upstreams[0]!.target));
  t.throws(() => {
    (config.server as { port: number }).port = 1;
  }, TypeError);
});

t.test('presets: the upstream rules come first, then the preset rules, with default names by position', async (t) => {
  const presets = tempDir(t);
  writeYaml(t, { rules: [{ name: 'p.read', path: '/things/:id', ttl: '1h' }, { path: '/other' }] }, presets, 'custom.yaml');
  const config = baseConfig();
  config.upstreams[0]!['preset'] = 'custom';
  config.upstreams[0]!['rules'] = [{ path: '/things/special' }];
  const rules = load(t, config, {}, presets).config.upstreams[0]!.rules;
  t.strictSame(rules.map((r) => [r.name, r.path, r.ttlMs]), [
    ['sf.rule0', '/things/special', 300_000],
    ['p.read', '/things/:id', 3_600_000],
    ['sf.rule2', '/other', 300_000],
  ]);
});

t.test('shipped proxy.config.yaml loads with both targets set', async (t) => {
  const { config, warnings } = loadConfig({
    path: SHIPPED,
    env: { SALESFORCE_URL: 'https://acme.my.salesforce.com', JIRA_URL: 'https://acme.atlassian.net/', PORT: '3000', LOG_LEVEL: 'debug', CACHE_KEY_SECRET: 'k', MEMORY_MAX_BYTES: '64MB' },
  });
  t.strictSame(warnings, []);
  t.match(config.server, { port: 3000, host: '0.0.0.0', logLevel: 'debug' });
  t.strictSame(config.cache.keySecret, 'k');
  t.strictSame(config.cache.memory, { enabled: true, maxBytes: 64 * 1024 ** 2, maxEntries: 100_000 });
  const [sf, jira] = config.upstreams;
  t.equal(sf?.target?.href, 'https://acme.my.salesforce.com/');
  t.equal(jira?.target?.href, 'https://acme.atlassian.net/');
  t.strictSame(sf?.rules.map((r) => r.name), [
    'salesforce.limits', 'salesforce.oauth', 'salesforce.query', 'salesforce.queryAll', 'salesforce.query-page',
    'salesforce.queryAll-page', 'salesforce.sobject-describe', 'salesforce.sobjects', 'salesforce.sobject-read',
    'salesforce.composite-read', 'salesforce.sobject-write', 'salesforce.sobject-create',
  ]);
  t.match(sf?.rules.find((r) => r.name === 'salesforce.sobject-read'), { tags: ['sf:{type}:{id}', 'sf:{type}'], ttlMs: 300_000, cache: true });
  t.match(sf?.rules.find((r) => r.name === 'salesforce.composite-read'), { methods: ['POST'], bodyKey: true, cache: true });
  t.match(sf?.rules.find((r) => r.name === 'salesforce.query'), { query: { q: true } });
  t.strictSame(jira?.rules.map((r) => r.name), [
    'jira.issue-read', 'jira.search-jql', 'jira.search-jql-post', 'jira.search-legacy', 'jira.search-legacy-post',
    'jira.field', 'jira.project', 'jira.status', 'jira.priority', 'jira.issue-write', 'jira.issue-transition',
    'jira.issue-comment', 'jira.issue-create',
  ]);
  t.match(jira?.rules.find((r) => r.name === 'jira.issue-write'), { methods: ['PUT', 'DELETE'], cache: false, invalidates: ['jira:issue:{key}', 'jira:search'] });
});

t.test('shipped proxy.config.yaml loads with no environment: both upstreams disabled, with warnings', async (t) => {
  const { config, warnings } = loadConfig({ path: SHIPPED, env: {} });
  t.equal(config.server.port, 8080);
  t.equal(config.cache.keySecret, null);
  t.strictSame(config.upstreams.map((u) => [u.name, u.prefix, u.target]), [['salesforce', '/salesforce', null], ['jira', '/jira', null]]);
  t.strictSame(warnings, [
    'upstream "salesforce" is disabled: SALESFORCE_URL is not set',
    'upstream "jira" is disabled: JIRA_URL is not set',
    'no upstream is enabled: every target is empty',
  ]);
});

t.test('formatConfigError prints the path and one indented line per problem', async (t) => {
  const err = new ConfigError('/etc/sidecache/proxy.config.yaml', ['server.port: must be an integer from 0 to 65535', 'upstreams[0].foo: unknown key']);
  t.equal(
    formatConfigError(err),
    'invalid config /etc/sidecache/proxy.config.yaml:\n  server.port: must be an integer from 0 to 65535\n  upstreams[0].foo: unknown key',
  );
  t.equal(err.message, formatConfigError(err));
  t.equal(err.name, 'ConfigError');
  t.ok(err instanceof Error);
});

t.test('a loaded file error formats with its absolute path', async (t) => {
  const file = writeYaml(t, { upstreams: [] });
  try {
    loadConfig({ path: file, env: {} });
    t.fail('expected a ConfigError');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.equal(formatConfigError(err as ConfigError), `invalid config ${file}:\n  upstreams: must be a non-empty list of upstreams`);
  }
});

t.test('protection, rate limits and stale windows: units parsed, bad values named', async (t) => {
  const { config } = load(t, {
    upstreams: [
      {
        name: 'sf',
        prefix: '/sf',
        target: 'https://sf.example.com',
        protection: { concurrency: { min: 2, max: 64, latencyTolerance: 1.5 }, queueTimeout: '2s', breaker: { window: '30s', openFor: '1m', failureRate: 0.25 } },
        rateLimit: { by: 'user', capacity: 10, refillPerSecond: 0.5 },
        rules: [{ path: '/x', staleWhileRevalidate: '30s', staleIfError: '1h', refreshAhead: true }],
      },
    ],
  });
  const [sf] = config.upstreams;
  t.same(sf?.protection.concurrency, { initial: 32, min: 2, max: 64, latencyTolerance: 1.5 });
  t.equal(sf?.protection.queueTimeoutMs, 2_000);
  t.same(sf?.protection.breaker, { windowMs: 30_000, bucketMs: 1_000, minimumCalls: 20, failureRate: 0.25, openMs: 60_000, halfOpenProbes: 3 });
  t.same(sf?.rateLimit, { by: 'user', capacity: 10, refillPerSecond: 0.5, exemptHits: true, maxSubjects: 100_000, redisTimeoutMs: 50 });
  t.equal(sf?.rules[0]?.staleWhileRevalidateMs, 30_000);
  t.equal(sf?.rules[0]?.staleIfErrorMs, 3_600_000);
  t.equal(sf?.rules[0]?.refreshAhead, true);
});

t.test('protection.concurrency: unset keys fit pool.connections; defaults: applies key by key', async (t) => {
  const upstream = (name: string, extra: Record<string, unknown>) => ({ name, prefix: `/${name}`, target: 'https://x.example.com', ...extra });
  const { config, warnings } = load(t, {
    defaults: { protection: { concurrency: { latencyTolerance: 3 } } },
    upstreams: [
      upstream('small', { pool: { connections: 16 } }),
      upstream('tiny', { pool: { connections: 2 } }),
      upstream('own', { protection: { concurrency: { initial: 8, max: 100 } } }),
    ],
  });
  t.strictSame(warnings, []);
  const [small, tiny, own] = config.upstreams;
  t.strictSame(small?.protection.concurrency, { initial: 16, min: 4, max: 16, latencyTolerance: 3 }, 'max and initial cut to the pool');
  t.strictSame(tiny?.protection.concurrency, { initial: 2, min: 2, max: 2, latencyTolerance: 3 }, 'min too');
  t.strictSame(own?.protection.concurrency, { initial: 8, min: 4, max: 100, latencyTolerance: 3 });
});

t.test('deprecated protection.maxConcurrent: N is read as a fixed limit, with a warning', async (t) => {
  const { config, warnings } = load(t, {
    upstreams: [{ name: 'sf', prefix: '/sf', target: 'https://sf.example.com', protection: { maxConcurrent: 24 } }],
  });
  t.strictSame(config.upstreams[0]?.protection.concurrency, { initial: 24, min: 24, max: 24, latencyTolerance: 2 });
  t.strictSame(warnings, [
    'upstreams[0].protection.maxConcurrent is deprecated: read as a fixed limit, concurrency: { initial: 24, min: 24, max: 24 }; remove it to let the limit adapt',
  ]);
});

t.test('standards mode: respectCacheControl without a ttl of its own means freshness: origin', async (t) => {
  const load = (rule: string) => {
    const dir = t.testdir({ 'c.yaml': `upstreams:\n  - name: origin\n    prefix: /\n    target: http://127.0.0.1:8000\n    rules:\n      - ${rule}\n` });
    return loadConfig({ path: `${dir}/c.yaml`, env: {} }).config.upstreams[0]!.rules[0]!;
  };
  t.equal(load('{ path: /*, respectCacheControl: true }').freshness, 'origin');
  t.equal(load('{ path: /*, respectCacheControl: true, ttl: 1m }').freshness, 'rule', 'a ttl of its own keeps API mode');
  t.equal(load('{ path: /*, ttl: 1m }').freshness, 'rule');
  t.equal(load('{ path: /*, respectCacheControl: true, ttl: 1m, freshness: origin }').freshness, 'origin', 'said outright');
  t.equal(load('{ path: /*, keepExpired: 10m }').keepExpiredMs, 600_000);
  t.throws(() => load('{ path: /*, freshness: origin }'), /freshness: "origin" needs respectCacheControl: true/);
  t.throws(() => load('{ path: /*, respectCacheControl: true, freshness: upstream }'), /freshness: must be "rule"/);
});
