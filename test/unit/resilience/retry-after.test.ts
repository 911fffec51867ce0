import t from 'tap';
import {
  classifyUpstreamResponse,
  isUpstreamFailure,
  needsBodySnippet,
  RetryAfterGate,
  upstreamPauseMs,
} from '../../../src/resilience/retry-after.js';
import { fakeClock } from '../../helpers/clock.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0); // Thu, 01 Jan 2026 12:00:00 GMT
const OPTIONS = { maxMs: 600_000, defaultMs: 30_000 };

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
