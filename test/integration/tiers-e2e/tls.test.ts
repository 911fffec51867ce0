import t from 'tap';
import { postgresOrSkip } from '../../helpers/database.js';
import { startSidecacheProcess, writeConfig, type SidecacheProcess } from '../../helpers/process.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { selfSignedCertificate, startTlsRelay } from '../../helpers/tls-relay.js';
import { httpClient, readyz, redisClient, versionedUpstream, waitFor } from './helpers.js';

t.test('Redis over rediss:// and Postgres with sslmode=verify-full, against a self-signed certificate made here', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t, { migrate: true });
  const tls = selfSignedCertificate(t);
  const plainRedis = new URL(redis.url);
  const plainPg = new URL(db.url!);
  const redisRelay = await startTlsRelay(t, { target: { host: plainRedis.hostname, port: Number(plainRedis.port || 6379) }, tls });
  const pgRelay = await startTlsRelay(t, { target: { host: plainPg.hostname, port: Number(plainPg.port || 5432) }, tls, postgres: true });
  const pgUrl = new URL(db.url!);
  pgUrl.hostname = '127.0.0.1';
  pgUrl.port = String(pgRelay.port);
  pgUrl.searchParams.set('sslmode', 'verify-full');
  pgUrl.searchParams.set('sslrootcert', tls.certPath);
  const upstream = await versionedUpstream(t);
  const config = writeConfig(
    t,
    `
server: { host: 127.0.0.1, port: 0, shutdownGrace: 10s }
cache:
  keySecret: tls-test
  namespace: ${redis.namespace}
  redis: { url: "rediss://127.0.0.1:${redisRelay.port}", readTimeout: 1s }
  postgres: { enabled: true, readTimeout: 2s }
database: { url: ${JSON.stringify(pgUrl.toString())}, connectTimeout: 5s }
upstreams:
  - { name: api, prefix: /api, target: ${upstream.url}, rules: [{ path: /items/:id, ttl: 10m }] }
`,
  );
  // Node trusts the self-signed certificate for Redis this way; Postgres through sslrootcert.
  const env = { NODE_EXTRA_CA_CERTS: tls.certPath };
  const get = httpClient(t);
  const stop = async (proc: SidecacheProcess) => {
    proc.child.kill('SIGTERM');
    t.equal(await proc.exited, 0, 'exited 0');
  };

  const first = await startSidecacheProcess(t, config, env);
  // Connected: 'up', or 'degraded' (an error in the last 30 s: on a loaded machine a command can
  // outlast the 1 s read timeout while the TLS connection is still being made). 'down' is not
  // connected. The writes below prove the tiers work through TLS.
  let tiersSeen: unknown;
  await waitFor('both tiers connected', async () => {
    const { tiers } = (await readyz(first.url)).body;
    tiersSeen = tiers;
    return ['up', 'degraded'].includes(tiers['redis']!) && ['up', 'degraded'].includes(tiers['postgres']!);
  }, 20_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}; /readyz tiers last: ${JSON.stringify(tiersSeen)}; TLS handshakes: Redis ${redisRelay.handshakes()}, Postgres ${pgRelay.handshakes()}`);
  });
  t.equal((await get(first.url + '/api/items/1')).headers['x-cache'], 'MISS');
  const inspect = redisClient(t, redis.url);
  await waitFor('the Redis write (through TLS)', async () => (await inspect.keys(`sidecache:${redis.namespace}:*:e:*`)).length === 1);
  await waitFor('the Postgres write (through TLS)', async () => (await db.query('SELECT 1 FROM api_cache')).rowCount === 1);
  t.ok(redisRelay.handshakes() > 0, 'Redis connections were TLS');
  t.ok(pgRelay.handshakes() > 0, 'Postgres connections were TLS');
  await stop(first);

  const withoutCa = await startSidecacheProcess(t, config);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const { tiers } = (await readyz(withoutCa.url)).body;
  t.not(tiers['redis'], 'up', 'without trusting the certificate Redis is not connected');
  t.equal((await get(withoutCa.url + '/api/items/1')).status, 200, 'and the proxy still answers');
  await stop(withoutCa);
});
