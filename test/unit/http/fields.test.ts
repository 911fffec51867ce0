import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import t from 'tap';
import {
  connectionTokens,
  headerValue,
  parseCacheControl,
  parseHttpDate,
  parseRetryAfter,
  rawValue,
  retryAfterHeader,
} from '../../../src/http/fields.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0); // Thu, 01 Jan 2026 12:00:00 GMT
const OPTIONS = { maxMs: 600_000, defaultMs: 30_000 };

t.test('connectionTokens', async (t) => {
  t.test('returns an empty set for an absent header', async (t) => {
    t.same([...connectionTokens(undefined)], []);
  });

  t.test('splits a comma list, trims and lower-cases tokens', async (t) => {
    t.same([...connectionTokens(' Keep-Alive ,X-Foo,  x-BAR')], ['keep-alive', 'x-foo', 'x-bar']);
  });

  t.test('merges tokens from repeated header values', async (t) => {
    t.same([...connectionTokens(['close', 'X-One, x-two'])].sort(), ['close', 'x-one', 'x-two']);
  });

  t.test('ignores empty list elements', async (t) => {
    t.same([...connectionTokens(',, ,a,')], ['a']);
  });
});

t.test('headerValue', async (t) => {
  t.test('returns a single value unchanged', async (t) => {
    t.equal(headerValue({ accept: 'text/html' }, 'accept'), 'text/html');
  });

  t.test('joins repeated values with ", "', async (t) => {
    t.equal(headerValue({ accept: ['text/html', 'application/json'] }, 'accept'), 'text/html, application/json');
  });

  t.test('returns undefined for an absent header', async (t) => {
    t.equal(headerValue({}, 'accept'), undefined);
  });
});

t.test('rawValue reads a raw header list as Node\'s IncomingMessage.headers does', async (t) => {
  const raw = [
    'Accept', 'a', 'accept', 'b', 'User-Agent', 'first', 'user-agent', 'second', 'Cookie', 'x=1', 'cookie', 'y=2',
    'Authorization', 'A', 'authorization', 'B', 'Content-Type', 'text/plain', 'content-type', 'application/json',
    'X-Custom', 'p', 'x-custom', 'q', 'Referer', 'r1', 'Referer', 'r2', 'From', 'f1', 'From', 'f2',
  ];
  // Node itself parses the same fields off a real socket.
  let received: (headers: Record<string, string | string[] | undefined>) => void = () => undefined;
  const parsed = new Promise<Record<string, string | string[] | undefined>>((resolve) => (received = resolve));
  const server = createServer((req, res) => {
    res.end();
    received(req.headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let head = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n';
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  socket.end(`${head}\r\n`);
  socket.resume();
  const headers = await parsed;
  for (const name of ['accept', 'user-agent', 'cookie', 'authorization', 'content-type', 'x-custom', 'referer', 'from', 'absent']) {
    t.equal(rawValue(raw, name), headerValue(headers, name), name);
  }
});

t.test('parseCacheControl', async (t) => {
  t.test('maps lower-cased directive names to values', async (t) => {
    t.same([...parseCacheControl('Public, Max-Age=60, no-transform')], [
      ['public', ''],
      ['max-age', '60'],
      ['no-transform', ''],
    ]);
  });

  t.test('unquotes quoted values', async (t) => {
    t.equal(parseCacheControl('max-age="60"').get('max-age'), '60');
  });

  t.test('trims whitespace around names and values', async (t) => {
    t.equal(parseCacheControl('  s-maxage =  30 ').get('s-maxage'), '30');
  });

  t.test('skips empty list elements', async (t) => {
    t.same([...parseCacheControl(', ,no-store,')], [['no-store', '']]);
  });

  t.test('keeps a quoted value that contains a comma whole (RFC 9110 §5.6.4)', async (t) => {
    const directives = parseCacheControl('private="set-cookie, x-foo", max-age=60');
    t.equal(directives.get('private'), 'set-cookie, x-foo');
    t.equal(directives.get('max-age'), '60');
    t.same([...directives.keys()], ['private', 'max-age']);
  });
});

t.test('delta-seconds', async (t) => {
  t.same(parseRetryAfter('120', NOW, OPTIONS), { delayMs: 120_000, source: 'delta', clamped: false });
  t.same(parseRetryAfter('0', NOW, OPTIONS), { delayMs: 0, source: 'delta', clamped: false });
  t.same(parseRetryAfter('  7 ', NOW, OPTIONS), { delayMs: 7_000, source: 'delta', clamped: false }, 'surrounding whitespace');
  t.same(parseRetryAfter(['5', '99'], NOW, OPTIONS), { delayMs: 5_000, source: 'delta', clamped: false }, 'the first of repeated fields');
});

t.test('HTTP-date in all three RFC 9110 formats', async (t) => {
  t.same(parseRetryAfter('Thu, 01 Jan 2026 12:01:30 GMT', NOW, OPTIONS), { delayMs: 90_000, source: 'date', clamped: false }, 'IMF-fixdate');
  t.equal(parseRetryAfter('Thursday, 01-Jan-26 12:00:45 GMT', NOW, OPTIONS).delayMs, 45_000, 'rfc850-date');
  t.equal(parseRetryAfter('Thu Jan  1 12:00:10 2026', NOW, OPTIONS).delayMs, 10_000, 'asctime-date, read as UTC');
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), Date.UTC(1994, 10, 6, 8, 49, 37));
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW), Date.UTC(1994, 10, 6, 8, 49, 37), 'two-digit year: the most recent past one');
  t.equal(parseHttpDate('Friday, 01-Jan-27 00:00:00 GMT', NOW), Date.UTC(2027, 0, 1), 'a near-future two-digit year stays in this century');
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), Date.UTC(1994, 10, 6, 8, 49, 37));
});

t.test('a date in the past means now', async (t) => {
  t.same(parseRetryAfter('Wed, 31 Dec 2025 23:59:59 GMT', NOW, OPTIONS), { delayMs: 0, source: 'date', clamped: false });
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 12:00:00 GMT', NOW, OPTIONS).delayMs, 0, 'exactly now');
});

t.test('garbage gives the default backoff', async (t) => {
  for (const value of [undefined, '', 'soon', '-5', '1.5', '1e3', '0x10', '120s', 'Thu, 01 Jan 2026 12:01:30 UTC', '2026-01-01T12:01:30Z', 'Thu, 30 Feb 2026 12:00:00 GMT', 'Thu, 01 Jan 2026 25:00:00 GMT', 'Thu, 1 Jan 2026 12:01:30 GMT', []]) {
    t.same(parseRetryAfter(value, NOW, OPTIONS), { delayMs: 30_000, source: 'default', clamped: false }, `${JSON.stringify(value)}`);
  }
  t.equal(parseHttpDate('1'), null, 'Date.parse would say 2001');
  t.equal(parseRetryAfter('x', NOW, { maxMs: 10_000, defaultMs: 30_000 }).delayMs, 10_000, 'the default is clamped too');
});

t.test('huge values are clamped to maxMs', async (t) => {
  t.same(parseRetryAfter('86400', NOW, OPTIONS), { delayMs: 600_000, source: 'delta', clamped: true });
  t.same(parseRetryAfter('99999999999999999999999', NOW, OPTIONS), { delayMs: 600_000, source: 'delta', clamped: true });
  t.same(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW, OPTIONS), { delayMs: 600_000, source: 'date', clamped: true });
  t.same(parseRetryAfter('600', NOW, OPTIONS), { delayMs: 600_000, source: 'delta', clamped: false }, 'exactly the maximum is not clamped');
});

t.test('retryAfterHeader rounds up to whole seconds, at least 1', async (t) => {
  t.equal(retryAfterHeader(0), '1');
  t.equal(retryAfterHeader(1), '1');
  t.equal(retryAfterHeader(1_000), '1');
  t.equal(retryAfterHeader(1_001), '2');
  t.equal(retryAfterHeader(90_000), '90');
});
