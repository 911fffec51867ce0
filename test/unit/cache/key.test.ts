import t from 'tap';
import { createHash } from 'node:crypto';
import { buildCacheKey, cachePartition, hashRequestBody, type KeyParts } from '../../../src/cache/key.js';

const base: KeyParts = {
  upstream: 'salesforce',
  method: 'GET',
  path: '/sobjects/Account/001',
  query: 'fields=Name',
  vary: [['accept', 'application/json'], ['accept-encoding', 'gzip']],
  partition: 'shared',
  bodyHash: null,
};

const anonymous = { credential: undefined, sessionToken: undefined };

t.test('buildCacheKey', async (t) => {
  t.test('the same parts give the same key', async (t) => {
    t.equal(buildCacheKey({ ...base }), buildCacheKey({ ...base, vary: base.vary.map(([n, v]) => [n, v] as const) }));
  });

  t.test('has the format <upstream>:<partition>:<43-char base64url digest>', async (t) => {
    t.match(buildCacheKey(base), /^salesforce:shared:[A-Za-z0-9_-]{43}$/);
  });

  t.test('keeps a partition containing ":" intact', async (t) => {
    t.match(buildCacheKey({ ...base, partition: 'auth:abcdefghijklmnopqrstuv' }), /^salesforce:auth:abcdefghijklmnopqrstuv:[A-Za-z0-9_-]{43}$/);
  });

  t.test('has a fixed length whatever the path length', async (t) => {
    const short = buildCacheKey({ ...base, path: '/' });
    const long = buildCacheKey({ ...base, path: '/' + 'x'.repeat(10_000) });
    t.equal(long.length, short.length);
  });

  const variants: Array<[string, Partial<KeyParts>]> = [
    ['upstream', { upstream: 'jira' }],
    ['method', { method: 'POST' }],
    ['path', { path: '/sobjects/Account/002' }],
    ['query', { query: 'fields=Id' }],
    ['query (empty)', { query: '' }],
    ['vary value', { vary: [['accept', 'text/html'], ['accept-encoding', 'gzip']] }],
    ['vary value absent', { vary: [['accept', ''], ['accept-encoding', 'gzip']] }],
    ['vary header name', { vary: [['x-tenant', 'application/json'], ['accept-encoding', 'gzip']] }],
    ['vary list (none)', { vary: [] }],
    ['partition', { partition: 'anon' }],
    ['body hash', { bodyHash: 'abc' }],
  ];
  for (const [name, change] of variants) {
    t.test(`a different ${name} gives a different key`, async (t) => {
      t.not(buildCacheKey({ ...base, ...change }), buildCacheKey(base));
    });
  }

  t.test('path and query boundaries cannot be shifted to collide', async (t) => {
    t.not(buildCacheKey({ ...base, path: '/a', query: 'b=1' }), buildCacheKey({ ...base, path: '/a?b=1', query: '' }));
  });

  t.test('two different body hashes give different keys', async (t) => {
    t.not(buildCacheKey({ ...base, bodyHash: 'h1' }), buildCacheKey({ ...base, bodyHash: 'h2' }));
  });

  t.test('the raw credential never appears in the key', async (t) => {
    const credential = 'Bearer 00Dxx0000001gPL!AQ4AQFakeSecretToken';
    const partition = cachePartition('authorization', { credential, sessionToken: undefined }, 'key-secret');
    t.ok(partition);
    const key = buildCacheKey({ ...base, partition: partition! });
    t.notOk(key.includes(credential));
    t.notOk(key.includes('00Dxx0000001gPL'));
    t.notOk(key.includes('FakeSecretToken'));
  });

  t.test('the raw session token never appears in the key', async (t) => {
    const partition = cachePartition('session', { credential: undefined, sessionToken: 'sess-token-123' }, 's');
    t.notOk(buildCacheKey({ ...base, partition: partition! }).includes('sess-token-123'));
  });
});

t.test('cachePartition', async (t) => {
  t.test('shared scope is "shared" whatever the identity', async (t) => {
    t.equal(cachePartition('shared', { credential: 'Bearer a', sessionToken: 's' }, 'secret'), 'shared');
    t.equal(cachePartition('shared', anonymous, 'secret'), 'shared');
  });

  t.test('authorization scope without a credential is "anon"', async (t) => {
    t.equal(cachePartition('authorization', anonymous, 'secret'), 'anon');
  });

  t.test('authorization scope with a credential is auth:<22-char hash>', async (t) => {
    t.match(cachePartition('authorization', { credential: 'Bearer a', sessionToken: undefined }, 'secret'), /^auth:[A-Za-z0-9_-]{22}$/);
  });

  t.test('session scope with a token is sess:<22-char hash>', async (t) => {
    t.match(cachePartition('session', { credential: undefined, sessionToken: 'tok' }, 'secret'), /^sess:[A-Za-z0-9_-]{22}$/);
  });

  t.test('session scope without a token is null (bypass)', async (t) => {
    t.equal(cachePartition('session', anonymous, 'secret'), null);
  });

  t.test('session scope without a token is null even with a credential', async (t) => {
    t.equal(cachePartition('session', { credential: 'Bearer a', sessionToken: undefined }, 'secret'), null);
  });

  t.test('the same credential gives the same partition', async (t) => {
    const id = { credential: 'Bearer a', sessionToken: undefined };
    t.equal(cachePartition('authorization', id, 'secret'), cachePartition('authorization', { ...id }, 'secret'));
  });

  t.test('different credentials give different partitions', async (t) => {
    t.not(
      cachePartition('authorization', { credential: 'Bearer a', sessionToken: undefined }, 'secret'),
      cachePartition('authorization', { credential: 'Bearer b', sessionToken: undefined }, 'secret'),
    );
  });

  t.test('different session tokens give different partitions', async (t) => {
    t.not(
      cachePartition('session', { credential: undefined, sessionToken: 's1' }, 'secret'),
      cachePartition('session', { credential: undefined, sessionToken: 's2' }, 'secret'),
    );
  });

  t.test('the same credential with a different secret gives a different partition', async (t) => {
    const id = { credential: 'Bearer a', sessionToken: undefined };
    t.not(cachePartition('authorization', id, 'secret-1'), cachePartition('authorization', id, 'secret-2'));
  });

  t.test('is not a plain unkeyed hash of the credential', async (t) => {
    const partition = cachePartition('authorization', { credential: 'Bearer a', sessionToken: undefined }, 'secret')!;
    const unkeyed = createHash('sha256').update('Bearer a').digest('base64url').slice(0, 22);
    t.not(partition, `auth:${unkeyed}`);
  });

  t.test('auth and session partitions of the same value differ', async (t) => {
    const a = cachePartition('authorization', { credential: 'v', sessionToken: undefined }, 'secret')!;
    const s = cachePartition('session', { credential: undefined, sessionToken: 'v' }, 'secret')!;
    t.not(a, s);
  });
});

t.test('hashRequestBody', async (t) => {
  const json = 'application/json';
  const h = (body: string, type: string | undefined = json) => hashRequestBody(Buffer.from(body), type);

  t.test('returns a 43-char base64url digest', async (t) => {
    t.match(h('{}'), /^[A-Za-z0-9_-]{43}$/);
  });

  t.test('the same body gives the same hash', async (t) => {
    t.equal(h('{"a":1}'), h('{"a":1}'));
  });

  t.test('JSON object key order is insignificant', async (t) => {
    t.equal(h('{"a":1,"b":2}'), h('{"b":2,"a":1}'));
  });

  t.test('JSON key order is insignificant in nested objects', async (t) => {
    t.equal(h('{"o":{"x":1,"y":[{"p":1,"q":2}]}}'), h('{"o":{"y":[{"q":2,"p":1}],"x":1}}'));
  });

  t.test('JSON whitespace is insignificant', async (t) => {
    t.equal(h('{"a":1,"b":[1,2]}'), h(' {\n  "a" : 1,\t"b": [ 1, 2 ]\n}\n'));
  });

  t.test('JSON array order is significant', async (t) => {
    t.not(h('{"ids":[1,2]}'), h('{"ids":[2,1]}'));
  });

  t.test('different JSON values give different hashes', async (t) => {
    t.not(h('{"a":1}'), h('{"a":2}'));
    t.not(h('{"a":1}'), h('{"a":"1"}'));
    t.not(h('{"a":null}'), h('{}'));
  });

  t.test('canonicalises any +json media type', async (t) => {
    const type = 'application/vnd.api+json';
    t.equal(h('{"a":1,"b":2}', type), h('{"b":2,"a":1}', type));
  });

  t.test('the media type is keyed case-insensitively, its parameters as sent', async (t) => {
    t.equal(h('{"a":1}', 'application/json'), h('{"a":1}', 'Application/JSON'));
    t.not(h('{"a":1}', 'application/json'), h('{"a":1}', 'application/json; charset=utf-8'), 'a charset may change how bytes read');
    t.equal(h('{"b":2,"a":1}', 'application/json; charset=UTF-8'), h('{"a":1,"b":2}', 'application/json; charset=UTF-8'));
  });

  t.test('different content-types give different hashes for the same bytes', async (t) => {
    t.not(h('hello', 'text/plain'), h('hello', 'application/octet-stream'));
    t.not(h('{"a":1}', 'application/json'), h('{"a":1}', 'text/plain'));
    t.not(h('x', 'text/plain'), h('x', undefined));
  });

  t.test('non-JSON bodies are hashed byte for byte', async (t) => {
    t.not(h('a=1&b=2', 'application/x-www-form-urlencoded'), h('b=2&a=1', 'application/x-www-form-urlencoded'));
    t.not(h('{"a":1,"b":2}', 'text/plain'), h('{"b":2,"a":1}', 'text/plain'));
  });

  t.test('invalid JSON falls back to the raw bytes', async (t) => {
    const raw = '{"a":1,';
    const expected = createHash('sha256').update('application/json\n\nraw\n').update(raw).digest('base64url');
    t.equal(h(raw), expected);
    t.not(h(raw), h('{"a":1, '), 'whitespace counts once parsing failed');
  });

  t.test('hashes binary bodies', async (t) => {
    const a = hashRequestBody(Buffer.from([0, 255, 1]), 'application/octet-stream');
    const b = hashRequestBody(Buffer.from([0, 255, 2]), 'application/octet-stream');
    t.not(a, b);
  });

  t.test('an empty body has a stable hash', async (t) => {
    t.equal(h('', 'text/plain'), h('', 'text/plain'));
    t.not(h('', 'text/plain'), h(' ', 'text/plain'));
  });

  t.test('a "__proto__" member is part of the hash', async (t) => {
    t.not(h('{"q":"x","__proto__":{"admin":true}}'), h('{"q":"x"}'));
    t.not(h('{"__proto__":1}'), h('{}'));
  });

  t.test('integers beyond 2^53 that differ give different hashes', async (t) => {
    t.not(h('{"id":9007199254740993}'), h('{"id":9007199254740992}'));
  });

  t.test('issue 11: bodies the upstream reads differently never share a hash', async (t) => {
    t.not(h('{"jql":"project = PROJ","maxResults":null}'), h('{"jql":"project = PROJ","maxResults":-1e400}'), 'null vs overflow');
    t.not(h('{"n":1e400}'), h('{"n":2e400}'), 'huge exponents');
    t.not(h('{"a":1,"a":2}'), h('{"a":2}'), 'duplicate keys, last wins in JavaScript');
    t.not(h('{"a":1,"a":2}'), h('{"a":1}'), 'duplicate keys, first wins in some parsers');
    t.not(h('{"a":1,"a":2}'), h('{"a":2,"a":1}'), 'duplicate keys in another order');
    const e9 = hashRequestBody(Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]), json);
    const e8 = hashRequestBody(Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xe8, 0x22, 0x7d]), json);
    t.not(e9, e8, 'invalid UTF-8 bytes 0xE9 vs 0xE8');
  });

  t.test('a duplicate key is found after unescaping, and only within one object', async (t) => {
    t.not(h('{"a":1,"\\u0061":2}'), h('{"a":2}'));
    t.equal(h('{"o":{"a":1},"p":{"a":1}}'), h('{"p":{"a":1},"o":{"a":1}}'), 'same key in sibling objects is fine');
    t.equal(h('["a","a"]'), h('[ "a", "a" ]'), 'repeated strings in an array are not keys');
    t.equal(h('{"k":"a:","a":1}'), h('{"a":1,"k":"a:"}'), 'a colon inside a value');
  });

  t.test('numbers are canonicalised only when they round-trip exactly', async (t) => {
    t.not(h('{"n":1.0}'), h('{"n":1}'), '1.0 vs 1');
    t.not(h('{"n":1e2}'), h('{"n":100}'), '1e2 vs 100');
    t.not(h('{"n":-0}'), h('{"n":0}'), '-0 vs 0');
    t.not(h('{"n":0.10000000000000001}'), h('{"n":0.1}'), 'precision lost');
    t.equal(h('{"b":1.5,"a":-2}'), h('{"a":-2,"b":1.5}'), 'exact numbers still canonicalise');
  });

  t.test('a string that merely looks like a number is not a number', async (t) => {
    t.equal(h('{"b":"1.0","a":1}'), h('{"a":1,"b":"1.0"}'));
  });

  t.test('a byte-order mark keeps the raw bytes', async (t) => {
    t.not(h('\uFEFF{"a":1}'), h('{"a":1}'));
  });

  t.test('a non-UTF-8 charset or a content coding keeps the raw bytes', async (t) => {
    const latin1 = 'application/json; charset=iso-8859-1';
    t.not(h('{"b":2,"a":1}', latin1), h('{"a":1,"b":2}', latin1));
    const gzip = (body: string) => hashRequestBody(Buffer.from(body), json, 'gzip');
    t.not(gzip('{"b":2,"a":1}'), gzip('{"a":1,"b":2}'));
    t.not(gzip('{"a":1}'), h('{"a":1}'), 'Content-Encoding is part of the hash');
  });

  t.test('deep nesting falls back to raw bytes instead of throwing', async (t) => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    t.match(h(deep), /^[A-Za-z0-9_-]{43}$/);
  });
});
