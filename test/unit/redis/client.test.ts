import t from 'tap';
import { Cluster, Redis } from 'ioredis';
import { createRedisClient } from '../../../src/redis/client.js';
import { RedisUrlError } from '../../../src/redis/url.js';

t.test('createRedisClient builds the right client with fail-fast options (no connection made)', async (t) => {
  const single = createRedisClient('redis://:pw@127.0.0.1:6390/2', { connectTimeoutMs: 750, name: 'unit', lazyConnect: true });
  t.ok(single instanceof Redis);
  const o = (single as Redis).options;
  t.match(o, { host: '127.0.0.1', port: 6390, db: 2, password: 'pw', connectTimeout: 750, connectionName: 'unit', enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  t.equal(o.tls, undefined);
  t.ok(single.listenerCount('error') >= 1, 'has an error listener');
  const delays = Array.from({ length: 30 }, (_, i) => o.retryStrategy!(i + 1));
  t.ok(delays.every((d) => typeof d === 'number' && d > 0 && d <= 2_000), 'always reconnects, at most 2 s apart');
  t.ok((delays[0] as number) < 100 && (delays[29] as number) >= 1_600, 'exponential, capped');
  const copy = single.duplicate();
  t.ok(copy.listenerCount('error') >= 1, 'a duplicate() connection has an error listener too');
  single.disconnect();
  copy.disconnect();

  const tls = createRedisClient('rediss://cache.example:6380', { connectTimeoutMs: 500, name: 'unit', lazyConnect: true }) as Redis;
  t.ok(tls.options.tls, 'rediss:// enables TLS');
  tls.disconnect();

  const sentinel = createRedisClient('redis+sentinel://:pw@s1:26379,s2/mymaster?db=1', { connectTimeoutMs: 500, name: 'unit', lazyConnect: true }) as Redis;
  t.match(sentinel.options, { name: 'mymaster', db: 1, password: 'pw', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], enableOfflineQueue: false });
  t.equal(sentinel.options.sentinelPassword, undefined);
  sentinel.disconnect();

  const cluster = createRedisClient('redis+cluster://:pw@n1:7000,n2:7001', { connectTimeoutMs: 500, name: 'unit', lazyConnect: true });
  t.ok(cluster instanceof Cluster);
  t.match((cluster as Cluster).options, { enableOfflineQueue: false, redisOptions: { password: 'pw', maxRetriesPerRequest: 1, connectTimeout: 500 } });
  cluster.disconnect();

  let refused: unknown;
  try {
    createRedisClient('memcached://x', { connectTimeoutMs: 500, name: 'unit' });
  } catch (err) {
    refused = err;
  }
  t.ok(refused instanceof RedisUrlError);
});
