import t from 'tap';
import { freshnessLifetimeMs, initialAgeMs } from '../../../src/policy/age.js';
import { responseDirectives } from '../../../src/policy/response-directives.js';

const T = Date.UTC(2026, 0, 1, 12);
const date = (ms: number) => new Date(ms).toUTCString();
const times = { requestTime: T, responseTime: T };
const lifetime = (headers: Record<string, string>, status = 200) => freshnessLifetimeMs(responseDirectives(headers), headers, status, T);

t.test('RFC 9111 §4.2.3: the initial age counts Age and the apparent age from Date', async (t) => {
  t.equal(initialAgeMs({ date: date(T) }, times), 0);
  t.equal(initialAgeMs({ date: date(T), age: '7200' }, times), 7_200_000, 'the upstream Age');
  t.equal(initialAgeMs({ date: date(T - 60_000) }, times), 60_000, 'a Date in the past');
  t.equal(initialAgeMs({ date: date(T + 60_000) }, times), 0, 'a Date in the future is not a negative age');
  t.equal(initialAgeMs({ age: 'soon' }, times), 0, 'an invalid Age is ignored');
  t.equal(initialAgeMs({ date: date(T - 5_000) }, { requestTime: T - 5_000, responseTime: T }), 0, 'the response delay is not counted twice');
});

t.test('RFC 9111 §4.2.1: the freshness lifetime', async (t) => {
  t.equal(lifetime({ 'cache-control': 'max-age=60', expires: date(T + 3_600_000), date: date(T) }), 60_000, 'max-age beats Expires');
  t.equal(lifetime({ expires: date(T + 3_600_000), date: date(T) }), 3_600_000, 'Expires minus Date');
  t.equal(lifetime({ expires: date(T + 3_600_000), date: date(T - 600_000) }), 4_200_000, 'measured against Date, not arrival');
  t.equal(lifetime({ expires: '0', date: date(T) }), 0, '§5.3: an invalid Expires is in the past');
  t.equal(lifetime({}), null, 'nothing explicit and no Last-Modified');
});

t.test('RFC 9111 §4.2.2: heuristic freshness for Last-Modified responses', async (t) => {
  const headers = { date: date(T), 'last-modified': date(T - 10 * 3_600_000) };
  t.equal(lifetime(headers), 3_600_000, '10 % of the time since Last-Modified');
  t.equal(lifetime(headers, 404), 3_600_000, 'a heuristically cacheable status');
  t.equal(lifetime(headers, 500), null, 'not for a status that is not heuristically cacheable');
  t.equal(lifetime({ ...headers, 'cache-control': 'public' }, 500), 3_600_000, 'unless marked public');
  t.equal(lifetime({ date: date(T), 'last-modified': date(T - 100 * 86_400_000) }), 86_400_000, 'at most a day');
});
