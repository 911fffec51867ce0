import t from 'tap';
import { canonicalQuery, parseQuery, queryValue, redactQuery } from '../../../src/policy/query.js';

const canon = (raw: string) => canonicalQuery(raw);

t.test('parseQuery', async (t) => {
  t.test('returns no pairs for an empty query', async (t) => {
    t.same(parseQuery(''), []);
  });

  t.test('decodes names and values, keeping order and repeats', async (t) => {
    t.same(parseQuery('b=2&a=1&b=3'), [['b', '2'], ['a', '1'], ['b', '3']]);
  });

  t.test('decodes "+" as a space', async (t) => {
    t.same(parseQuery('q=x+y'), [['q', 'x y']]);
  });

  t.test('decodes percent escapes', async (t) => {
    t.same(parseQuery('q%5B0%5D=a%20b%26c'), [['q[0]', 'a b&c']]);
  });

  t.test('keeps an encoded "+" (%2B) as a plus sign', async (t) => {
    t.same(parseQuery('q=1%2B1'), [['q', '1+1']]);
  });

  t.test('a name without "=" gets an empty value', async (t) => {
    t.same(parseQuery('flag&x=1'), [['flag', ''], ['x', '1']]);
  });

  t.test('splits name and value at the first "="', async (t) => {
    t.same(parseQuery('f=a=b'), [['f', 'a=b']]);
  });

  t.test('skips empty parts', async (t) => {
    t.same(parseQuery('&a=1&&b=2&'), [['a', '1'], ['b', '2']]);
  });

  t.test('keeps a malformed escape as written instead of throwing', async (t) => {
    t.same(parseQuery('q=100%&r=%zz'), [['q', '100%'], ['r', '%zz']]);
  });

  t.test('decodes each valid escape even when a stray % is in the same value', async (t) => {
    t.same(parseQuery("q=LIKE+'%41cme%'"), [['q', "LIKE 'Acme%'"]]);
    t.same(parseQuery('q=SELECT%20Id%20FROM%20Account%20WHERE%20Name%20LIKE%20%27100%%27'), [['q', "SELECT Id FROM Account WHERE Name LIKE '100%'"]]);
  });

  t.test('reads bytes that are not UTF-8 as U+FFFD', async (t) => {
    t.same(parseQuery('q=%E9'), [['q', '\uFFFD']]);
    t.same(parseQuery('q=%C3%A9'), [['q', 'é']]);
  });
});

t.test('canonicalQuery', async (t) => {
  t.test('is empty for no pairs', async (t) => {
    t.equal(canonicalQuery(''), '');
  });

  t.test('treats %20 and + as the same space', async (t) => {
    t.equal(canon('q=a%20b'), canon('q=a+b'));
  });

  t.test('treats encoded and unencoded unreserved characters alike', async (t) => {
    t.equal(canon('q=%61bc'), canon('q=abc'));
  });

  t.test('normalises parameter order', async (t) => {
    t.equal(canon('b=2&a=1&c=3'), 'a=1&b=2&c=3');
    t.equal(canon('c=3&b=2&a=1'), canon('a=1&b=2&c=3'));
  });

  t.test('keeps the relative order of repeated names', async (t) => {
    t.equal(canon('a=2&b=x&a=1'), 'a=2&a=1&b=x');
    t.not(canon('a=1&a=2'), canon('a=2&a=1'));
  });

  t.test('re-encodes reserved characters one way', async (t) => {
    t.equal(canon('q=a%26b%3Dc'), 'q=a%26b%3Dc');
    t.equal(canon('q=x%2fy'), canon('q=x%2Fy'));
  });

  t.test('keeps values that differ in meaning distinct', async (t) => {
    t.not(canon('q=a%26b=c'), canon('q=a&b=c'));
    t.not(canon('q=1%2B1'), canon('q=1+1'));
  });

  t.test('sorts by name only, never by value', async (t) => {
    t.equal(canon('a=z&a=a'), 'a=z&a=a');
  });

  t.test('issue 11: a valid escape next to a stray % never collides with its encoded spelling', async (t) => {
    const stray = "q=SELECT+Name+FROM+Account+WHERE+Name+LIKE+'%41cme%'+LIMIT+7";
    const encoded = "q=SELECT+Name+FROM+Account+WHERE+Name+LIKE+'%2541cme%25'+LIMIT+7";
    t.not(canon(stray), canon(encoded));
    t.not(canon('q=100%'), canon('q=100%25'), 'a trailing stray %');
    t.not(canon('q=%zz'), canon('q=%25zz'), 'a % before non-hex characters');
    t.not(canon('q=%4'), canon('q=%254'), 'a truncated escape');
    t.not(canon('q=%41%'), canon('q=A%25'), 'escape then stray %');
    t.not(canon('q%=1'), canon('q%25=1'), 'a stray % in a name');
  });

  t.test('keeps a component with a stray % apart from every reduced one, yet stable', async (t) => {
    t.equal(canon("q='%41cme%'"), canon("q='%41cme%'"));
    t.match(canon('q=100%'), /^q=!/);
    t.notMatch(canon('q=100%25'), /!/);
  });

  t.test('keeps raw spaces and non-ASCII apart from their escapes', async (t) => {
    t.not(canon('q=a b'), canon('q=a%20b'));
    t.not(canon('q=é'), canon('q=%C3%A9'));
  });

  t.test('keys escapes by their bytes, so invalid UTF-8 stays distinct', async (t) => {
    t.not(canon('q=%E9'), canon('q=%E8'));
    t.equal(canon('q=%e9'), canon('q=%E9'));
  });

  t.test('keeps ";" inside a value, apart from "&"', async (t) => {
    t.not(canon('a=1;b=2'), canon('a=1&b=2'));
  });
});

t.test('queryValue', async (t) => {
  t.test('returns the first value of a repeated name', async (t) => {
    t.equal(queryValue(parseQuery('a=1&a=2'), 'a'), '1');
  });

  t.test('returns undefined for an absent name', async (t) => {
    t.equal(queryValue(parseQuery('a=1'), 'b'), undefined);
  });

  t.test('returns an empty string for a present name without value', async (t) => {
    t.equal(queryValue(parseQuery('a'), 'a'), '');
  });
});

t.test('redactQuery', async (t) => {
  const secrets = new Set(['access_token', 'password']);

  t.test('replaces the value of a secret parameter', async (t) => {
    t.equal(redactQuery('a=1&access_token=abc&b=2', secrets), 'a=1&access_token=[REDACTED]&b=2');
  });

  t.test('matches parameter names case-insensitively', async (t) => {
    t.equal(redactQuery('Access_Token=abc&PASSWORD=pw', secrets), 'Access_Token=[REDACTED]&PASSWORD=[REDACTED]');
  });

  t.test('matches percent-encoded parameter names', async (t) => {
    t.equal(redactQuery('access%5Ftoken=abc', secrets), 'access%5Ftoken=[REDACTED]');
  });

  t.test('redacts every occurrence of a repeated secret', async (t) => {
    t.equal(redactQuery('password=a&password=b', secrets), 'password=[REDACTED]&password=[REDACTED]');
  });

  t.test('leaves other parameters byte-for-byte unchanged', async (t) => {
    t.equal(redactQuery('q=a+b%20c&x', secrets), 'q=a+b%20c&x');
  });

  t.test('returns an empty query unchanged', async (t) => {
    t.equal(redactQuery('', secrets), '');
  });

  t.test('never leaks the secret value', async (t) => {
    t.notMatch(redactQuery('x=1&PassWord=hunter2', secrets), /hunter2/);
  });
});
