import t from 'tap';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from '../../../src/redis/url.js';

t.test('redis:// single node', async (t) => {
  t.same(parseRedisUrl('redis://127.0.0.1:6379'), { kind: 'single', node: { host: '127.0.0.1', port: 6379 }, tls: false, db: 0 });
  t.same(parseRedisUrl('redis://cache.internal'), { kind: 'single', node: { host: 'cache.internal', port: 6379 }, tls: false, db: 0 }, 'default port');
  t.same(parseRedisUrl('redis://cache:6380/3'), { kind: 'single', node: { host: 'cache', port: 6380 }, tls: false, db: 3 }, 'db in the path');
  t.same(parseRedisUrl('redis://cache?db=4'), { kind: 'single', node: { host: 'cache', port: 6379 }, tls: false, db: 4 }, 'db as a parameter');
  t.same(parseRedisUrl('redis://[::1]:7000'), { kind: 'single', node: { host: '::1', port: 7000 }, tls: false, db: 0 }, 'IPv6');
  t.same(parseRedisUrl('REDIS://Cache:6379/'), { kind: 'single', node: { host: 'Cache', port: 6379 }, tls: false, db: 0 }, 'scheme is case-insensitive');
});

t.test('credentials', async (t) => {
  t.match(parseRedisUrl('redis://:s3cret@cache:6379'), { password: 's3cret', username: undefined });
  t.match(parseRedisUrl('redis://app:s3cret@cache:6379'), { username: 'app', password: 's3cret' });
  t.match(parseRedisUrl('redis://s3cret@cache'), { password: 's3cret', username: undefined }, 'a lone user part is the password (legacy form)');
  t.match(parseRedisUrl('redis://app:p%40ss%3Aw%2Frd@cache'), { username: 'app', password: 'p@ss:w/rd' }, 'percent-decoded');
  t.match(parseRedisUrl('redis://app:p@ss@cache'), { username: 'app', password: 'p@ss', node: { host: 'cache' } }, 'the last @ ends the user information');
  t.notOk('password' in parseRedisUrl('redis://cache'), 'no password key without one');
});

t.test('rediss:// is TLS', async (t) => {
  t.same(parseRedisUrl('rediss://:pw@redis.example.com:6380/1'), {
    kind: 'single',
    node: { host: 'redis.example.com', port: 6380 },
    tls: true,
    password: 'pw',
    db: 1,
  });
});

t.test('redis+sentinel://', async (t) => {
  t.same(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26380,s3/mymaster?db=2'), {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
      { host: 's3', port: 26379 },
    ],
    masterName: 'mymaster',
    password: 'pw',
    db: 2,
  });
  t.match(parseRedisUrl('redis+sentinel://s1/mymaster?sentinelPassword=sp'), { sentinelPassword: 'sp', db: 0 });
  t.throws(() => parseRedisUrl('redis+sentinel://s1:26379'), /master name/, 'master name required');
  t.throws(() => parseRedisUrl('redis+sentinel://s1:26379/'), /master name/);
  t.throws(() => parseRedisUrl('redis+sentinel://s1/a/b'), /master name/);
});

t.test('redis+cluster://', async (t) => {
  t.same(parseRedisUrl('redis+cluster://:pw@n1:7000,n2:7001,[fd00::1]:7002'), {
    kind: 'cluster',
    nodes: [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
      { host: 'fd00::1', port: 7002 },
    ],
    password: 'pw',
  });
  t.same(parseRedisUrl('redis+cluster://n1'), { kind: 'cluster', nodes: [{ host: 'n1', port: 6379 }] });
  t.throws(() => parseRedisUrl('redis+cluster://n1/2'), /database/, 'cluster has only db 0');
  t.throws(() => parseRedisUrl('redis+cluster://n1?db=1'), /unknown query parameter "db"/);
});

t.test('unsupported or malformed URLs throw a clear RedisUrlError', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['http://cache:6379', /unsupported Redis URL scheme "http:\/\/"/],
    ['unix:///tmp/redis.sock', /unsupported Redis URL scheme/],
    ['rediss+cluster://n1', /unsupported Redis URL scheme/],
    ['cache:6379', /expected <scheme>:\/\//],
    ['', /expected <scheme>:\/\//],
    ['redis://', /host is missing/],
    ['redis://:pw@', /host is missing/],
    ['redis://cache:0', /out of range/],
    ['redis://cache:65536', /out of range/],
    ['redis://cache:abc', /invalid port/],
    ['redis://cache:6379/x', /database must be a non-negative integer/],
    ['redis://cache/1?db=2', /either in the path or as \?db=/],
    ['redis://cache?tls=true', /unknown query parameter "tls" \(allowed: db\)/],
    ['redis://a:1,b:2', /several hosts need redis\+sentinel/],
    ['redis://cache#frag', /fragment/],
    ['redis://ca che', /invalid host/],
    ['redis://[::1', /unterminated IPv6/],
    ['redis://:%E0%A4%A@cache', /malformed percent-encoding in the password/],
    ['redis://cache?db=1&db=2', /repeated/],
  ];
  for (const [url, message] of cases) {
    t.throws(() => parseRedisUrl(url), message, url);
    t.ok(thrown(() => parseRedisUrl(url)) instanceof RedisUrlError, `${url} throws a RedisUrlError`);
  }
});

t.test('errors never echo the password', async (t) => {
  try {
    parseRedisUrl('redis://app:hunter2@cache:99999');
    t.fail('should throw');
  } catch (err) {
    t.notMatch((err as Error).message, /hunter2/);
    t.match((err as Error).message, /redis:\/\/\*\*\*@cache:99999/);
  }
  t.equal(redactRedisUrl('redis+sentinel://:pw@s1,s2/m'), 'redis+sentinel://***@s1,s2/m');
  t.equal(redactRedisUrl('redis://cache:6379/0'), 'redis://cache:6379/0');
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
