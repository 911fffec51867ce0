import t, { type Test } from 'tap';
import { confineBelowPrefix, splitOriginForm } from '../../../src/proxy/request-target.js';
import { SidecacheError, type ErrorCode } from '../../../src/errors.js';

/** Runs fn and returns the code of the SidecacheError it throws (fails the test otherwise). */
function thrownCode(t: Test, fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    t.type(err, SidecacheError, 'throws a SidecacheError');
    return err instanceof SidecacheError ? err.code : undefined;
  }
  t.fail('expected a throw');
  return undefined;
}

t.test('splitOriginForm', async (t) => {
  const notOriginForm: Array<[string, string]> = [
    ['absolute-form http', 'http://evil/x'],
    ['absolute-form https', 'https://evil.example/x?y=1'],
    ['authority-form', 'evil.com:443'],
    ['asterisk-form', '*'],
    ['network-path reference', '//evil.com/x'],
    ['scheme-relative with trailing path', '//evil.com'],
    ['empty target', ''],
  ];
  for (const [name, url] of notOriginForm) {
    t.test(`refuses ${name} (${JSON.stringify(url)}) as bad_request_target`, async (t) => {
      t.equal(thrownCode(t, () => splitOriginForm(url)), 'bad_request_target');
    });
  }

  const invalid: Array<[string, string]> = [
    ['a control character', '/a\u0001b'],
    ['a NUL character', '/a\u0000b'],
    ['DEL', '/a\u007fb'],
    ['a space', '/a b'],
    ['a tab', '/a\tb'],
    ['a CR LF (header injection)', '/a\r\nHost: evil'],
    ['a fragment "#"', '/a#frag'],
    ['an encoded NUL %00', '/a%00b'],
    ['an encoded NUL upper-case hex', '/a%00.json'],
    ['a space in the query', '/a?q=x y'],
    ['a control character in the query', '/a?q=\u0001'],
    ['a "#" in the query', '/a?q=1#x'],
  ];
  for (const [name, url] of invalid) {
    t.test(`refuses a target with ${name} as invalid_path`, async (t) => {
      t.equal(thrownCode(t, () => splitOriginForm(url)), 'invalid_path');
    });
  }

  t.test('splits path and raw query at the first "?"', async (t) => {
    t.same(splitOriginForm('/a/b?x=1&y=2?z'), { path: '/a/b', query: 'x=1&y=2?z', search: '?x=1&y=2?z' });
  });

  t.test('returns an empty query when there is no "?"', async (t) => {
    t.same(splitOriginForm('/a/b'), { path: '/a/b', query: '', search: '' });
  });

  t.test('returns an empty query for a trailing "?"', async (t) => {
    t.same(splitOriginForm('/a?'), { path: '/a', query: '', search: '?' });
  });

  t.test('leaves the raw query undecoded', async (t) => {
    t.same(splitOriginForm('/a?q=x%20y+z&r=%2F'), { path: '/a', query: 'q=x%20y+z&r=%2F', search: '?q=x%20y+z&r=%2F' });
  });

  t.test('accepts the root path', async (t) => {
    t.same(splitOriginForm('/'), { path: '/', query: '', search: '' });
  });

  t.test('accepts percent-encoded characters other than %00 in the path', async (t) => {
    t.same(splitOriginForm('/a%20b%2Fc'), { path: '/a%20b%2Fc', query: '', search: '' });
  });
});

t.test('confineBelowPrefix', async (t) => {
  const climbing = [
    '/..',
    '/../',
    '/../x',
    '/a/../..',
    '/a/../../b',
    '/./..',
    '/%2e%2e/x',
    '/%2E%2E/x',
    '/%2E./x',
    '/.%2e/',
    '/a/%2e%2e/%2e%2e/b',
    '/a%2f..%2f..%2fb',
    '/a%2F..%2F..%2Fb',
    '/a%5c..%5c..%5cb',
    '/a%5C..%5C..%5Cb',
    '/..%2fx',
    '/..%5cx',
    '/a\\..\\..\\b',
    '/a/b/..%2f..%2f..',
    '/a//../..',
  ];
  for (const path of climbing) {
    t.test(`refuses ${JSON.stringify(path)} as path_traversal`, async (t) => {
      t.equal(thrownCode(t, () => confineBelowPrefix(path)), 'path_traversal');
    });
  }

  const staysInside: Array<[string, string]> = [
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/..', '/'],
    ['/a/../', '/'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/', '/a/b/'],
    ['/a//b', '/a//b'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2f..%2fb', '/a%2f..%2fb'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/b', '/a/b'],
    ['/', '/'],
    ['', '/'],
    ['/...', '/...'],
    ['/..a/b..', '/..a/b..'],
  ];
  for (const [input, expected] of staysInside) {
    t.test(`normalises ${JSON.stringify(input)} to ${JSON.stringify(expected)}`, async (t) => {
      t.equal(confineBelowPrefix(input), expected);
    });
  }

  // Issue 11 (path forms): what one decoding cannot settle is refused, wherever it would lead.
  const ambiguous = [
    '//127.0.0.1:28199/x',
    '//x',
    '/\\host/x',
    '/%2f%2fhost',
    '/%2F/host',
    '/%5chost',
    '/%252fhost',
    '/.//host',
    '/a/..//host',
    '/%252e%252e/x',
    '/a/%252e%252e/b',
    '/a/%252E%252E/%252e%252e/b',
    '/a/%25252e%25252e/b',
    '/a/%252e/b',
    '/..;/x',
    '/a/..;/b',
    '/a/b/..;/..;/..;/c',
    '/a/.;/b',
    '/a/..;jsessionid=1/b',
    '/a/%2e%2e;/b',
    '/a/..%3b/b',
    '/a/..%253B/b',
  ];
  for (const path of ambiguous) {
    t.test(`refuses ${JSON.stringify(path)} as ambiguous_path`, async (t) => {
      t.equal(thrownCode(t, () => confineBelowPrefix(path)), 'ambiguous_path');
    });
  }

  const unambiguous: Array<[string, string]> = [
    ['/a;v=1/b', '/a;v=1/b'],
    ['/a/b;c', '/a/b;c'],
    ['/a/;x', '/a/;x'],
    ['/a/.b;c', '/a/.b;c'],
    ['/a/%2541', '/a/%2541'],
    ['/a%252fb', '/a%252fb'],
    ['/a/%252e%252ex', '/a/%252e%252ex'],
  ];
  for (const [input, expected] of unambiguous) {
    t.test(`keeps ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, async (t) => {
      t.equal(confineBelowPrefix(input), expected);
    });
  }

  t.test('always returns a path starting with "/"', async (t) => {
    for (const input of ['', '/', '/a/..', '/a/./b', '/x/y/../../z']) {
      t.ok(confineBelowPrefix(input).startsWith('/'), JSON.stringify(input));
    }
  });
});
