import t from 'tap';
import {
  classifyUpstreamResponse,
  isUpstreamFailure,
  needsBodySnippet,
  parseHttpDate,
  parseRetryAfter,
  retryAfterHeader,
  RetryAfterGate,
  upstreamPauseMs,
} from '../../../src/resilience/retry-after.js';
import { fakeClock } from './fake-clock.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0); // Thu, 01 Jan 2026 12:00:00 GMT
const OPTIONS = { maxMs: 600_000, defaultMs: 30_000 };

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

t.test('RetryAfterGate: no calls until the block passes; blocks only extend', async (t) => {
  const clock = fakeClock();
  const gate = new RetryAfterGate(clock);
  t.equal(gate.blockedFor(), 0);
  gate.blockUntil(clock.now() + 10_000);
  t.equal(gate.blockedFor(), 10_000);
  gate.blockFor(3_000);
  t.equal(gate.blockedFor(), 10_000, 'a shorter block does not shorten it');
  gate.blockFor(20_000);
  t.equal(gate.blockedFor(), 20_000, 'a longer one extends it');
  t.equal(gate.blockedFor(clock.now() + 19_000), 1_000, 'blockedFor(now) with an explicit time');
  gate.blockUntil(clock.now() - 1);
  gate.blockFor(0);
  t.match(gate.stats(), { blockedForMs: 20_000, blocks: 3 }, 'past and zero blocks are ignored');
  clock.advance(20_000);
  t.equal(gate.blockedFor(), 0);
  t.match(gate.stats(), { blockedUntil: null, blockedForMs: 0 });
  gate.blockFor(5_000);
  gate.clear();
  t.equal(gate.blockedFor(), 0, 'clear() lifts it');
});

const SF_LIMIT = JSON.stringify([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
const JSON_TYPE = { 'content-type': 'application/json;charset=UTF-8' };

t.test('classifier: 5xx and 429 are failures, other statuses are answers', async (t) => {
  for (const status of [500, 502, 503, 504, 599]) t.equal(classifyUpstreamResponse(status), 'server_error', `${status}`);
  t.equal(classifyUpstreamResponse(429), 'rate_limited');
  for (const status of [200, 201, 204, 301, 304, 400, 401, 404, 409, 422, 499]) t.equal(classifyUpstreamResponse(status), null, `${status}`);
  t.ok(isUpstreamFailure(502));
  t.notOk(isUpstreamFailure(404));
});

t.test("classifier: Salesforce's request-limit 403", async (t) => {
  t.ok(needsBodySnippet(403));
  t.notOk(needsBodySnippet(500));
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, SF_LIMIT), 'request_limit_exceeded');
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, Buffer.from(SF_LIMIT)), 'request_limit_exceeded', 'a Buffer snippet');
  t.equal(classifyUpstreamResponse(403, {}, SF_LIMIT), 'request_limit_exceeded', 'no content-type');
  t.equal(classifyUpstreamResponse(403, { 'Content-Type': 'application/json' }, SF_LIMIT), 'request_limit_exceeded', 'header names in any case');
  t.equal(
    classifyUpstreamResponse(403, JSON_TYPE, JSON.stringify([{ message: 'no', errorCode: 'INSUFFICIENT_ACCESS' }, { message: 'x', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])),
    'request_limit_exceeded',
    'any element of the array',
  );
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, JSON.stringify({ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'x' })), 'request_limit_exceeded', 'a single object');
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, SF_LIMIT.slice(0, SF_LIMIT.length - 2)), 'request_limit_exceeded', 'a truncated snippet');
  t.equal(classifyUpstreamResponse(403, JSON_TYPE), null, 'no snippet: cannot tell, an ordinary 403');
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, JSON.stringify([{ message: 'denied', errorCode: 'INSUFFICIENT_ACCESS' }])), null, 'another errorCode');
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, JSON.stringify([{ message: 'errorCode REQUEST_LIMIT_EXCEEDED', errorCode: 'FORBIDDEN' }])), null, 'only the errorCode field counts');
  t.equal(classifyUpstreamResponse(403, { 'content-type': 'text/html' }, SF_LIMIT), null, 'not JSON');
  t.equal(classifyUpstreamResponse(403, JSON_TYPE, 'null'), null);
  t.equal(classifyUpstreamResponse(401, JSON_TYPE, SF_LIMIT), null, 'only a 403');
});

t.test('upstreamPauseMs: which failures pause the upstream, and for how long', async (t) => {
  const pause = (status: number, headers: Record<string, string> = {}, body?: string) =>
    upstreamPauseMs(status, classifyUpstreamResponse(status, headers, body), headers, NOW, OPTIONS);
  t.equal(pause(429, { 'retry-after': '12' }), 12_000);
  t.equal(pause(429), 30_000, '429 without Retry-After: the default');
  t.equal(pause(429, { 'retry-after': 'Thu, 01 Jan 2026 12:00:05 GMT' }), 5_000);
  t.equal(pause(503, { 'retry-after': '20' }), 20_000, '503 with Retry-After');
  t.equal(pause(503), null, 'a bare 503 is left to the breaker');
  t.equal(pause(500, { 'retry-after': '20' }), null);
  t.equal(pause(403, JSON_TYPE, SF_LIMIT), 30_000, 'the Salesforce limit');
  t.equal(pause(200, { 'retry-after': '20' }), null);
});
