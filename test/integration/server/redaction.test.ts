import type { AddressInfo } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { buildInstanceAdminApp } from '../../../src/admin/instance.js';
import { buildApp } from '../../../src/app.js';
import { loggerOptions } from '../../../src/server/logger.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { redisClient, redisEntryKey, waitFor } from '../tiers-e2e/helpers.js';

// Issue 11, "Redaction gaps": each of these reached stdout, audit_logs.query, api_cache.path and
// Redis in clear, and the admin listener logged ?token=<admin token>.
const SECRETS = ['S3CR3T-OAUTH', 'S3CR3T-JWT', 'S3CR3T-AMZ', 'S3CR3T-AUTH', 'S3CR3T-ARRAY', 'S3CR3T-SEMI', 'S3CR3T-CODE'];
const QUERY =
  'x=1&oauth_token=S3CR3T-OAUTH&jwt=S3CR3T-JWT&X-Amz-Signature=S3CR3T-AMZ&auth=S3CR3T-AUTH&access_token[]=S3CR3T-ARRAY&y=2;access_token=S3CR3T-SEMI&code=S3CR3T-CODE';
const ADMIN_TOKEN = 'ADMIN-TOKEN-IN-A-URL';

t.test('secret query values never reach the log, the audit trail or any cache tier', async (t) => {
  const target = await postgresOrSkip(t);
  const redis = await redisOrSkip(t);
  if (target === null || redis === null) return;
  const db = await target.open(t, { migrate: false });
  // The body must not echo the URL: what is checked is what sidecache writes of its own.
  const upstream = await startFakeUpstream((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  t.teardown(() => upstream.close());
  const defaults = testConfig([{ target: upstream.url, rules: [{ path: '/items/:id' }] }], {
    database: { url: db.url! },
    audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
    admin: { token: ADMIN_TOKEN },
    cache: {
      namespace: redis.namespace,
      redis: { url: redis.url, readTimeoutMs: 500, compressAboveBytes: 8192, writeQueueSize: 1000 },
      postgres: { enabled: true, readTimeoutMs: 1000, writeQueueSize: 1000, sweepIntervalMs: 60_000, sweepBatchSize: 1000, hitFlushIntervalMs: 5000 },
    },
  });
  // The configured list adds names the pattern does not cover.
  const config = { ...defaults, redactQueryParams: ['code'] };
  const lines: string[] = [];
  const stream = { write: (line: string) => void lines.push(line) };
  const sidecache = await buildApp(config, { logger: { ...(loggerOptions('info', config.redactQueryParams) as object), stream }, processMetrics: false });
  const admin = buildInstanceAdminApp(sidecache, config);
  t.teardown(async () => {
    await admin.close();
    await sidecache.app.close();
  });
  await sidecache.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(sidecache.app.server.address() as AddressInfo).port}`;

  const response = await request(`${base}/api/items/1?${QUERY}`);
  await response.body.dump();
  t.equal(response.statusCode, 200);
  t.match(upstream.received[0]?.url, /S3CR3T-OAUTH/, 'the upstream still gets the real query');
  await admin.inject({ url: `/admin/stats?token=${ADMIN_TOKEN}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  await admin.inject({ url: `/healthz?token=${ADMIN_TOKEN}` });

  const key = [...sidecache.stack.memory!.keys()][0]!;
  const readable = sidecache.stack.peekMemory(key)!.entry.path;
  t.match(readable, /^\/items\/1\?x=1&oauth_token=\[REDACTED\]&jwt=\[REDACTED\]&X-Amz-Signature=\[REDACTED\]&auth=\[REDACTED\]&access_token\[\]=\[REDACTED\]&y=2;access_token=\[REDACTED\]&code=\[REDACTED\]$/);

  const inspect = redisClient(t, redis.url);
  const stored = await waitFor('the Redis entry', async () => (await inspect.getBuffer(redisEntryKey(redis.namespace, key))) ?? undefined);
  const apiCache = await waitFor('the api_cache row', async () => (await db.query<{ path: string }>('SELECT path FROM api_cache')).rows[0]);
  const audit = await waitFor('the audit row', async () => (await db.query<{ query: string }>('SELECT query FROM audit_logs')).rows[0]);
  await waitFor('the admin log lines', () => lines.filter((line) => line.includes('admin request completed')).length === 2);

  t.equal(apiCache.path, readable, 'api_cache.path is the redacted readable path');
  t.match(audit.query, /oauth_token=\[REDACTED\]/);
  const places: Array<[string, string]> = [
    ['log', lines.join('')],
    ['Redis value', stored.toString('latin1')],
    ['api_cache.path', apiCache.path],
    ['audit_logs.query', audit.query],
  ];
  for (const [place, text] of places) {
    for (const secret of [...SECRETS, ADMIN_TOKEN]) t.notOk(text.includes(secret), `${place} never holds ${secret}`);
  }
  t.ok(lines.some((line) => line.includes('token=[REDACTED]') && line.includes('admin request completed')), 'the admin URL is logged, redacted');
});
