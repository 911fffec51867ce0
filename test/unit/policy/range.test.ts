import t from 'tap';
import { rangeAnswer } from '../../../src/policy/range.js';

const T = Date.UTC(2026, 0, 1);
const date = (ms: number) => new Date(ms).toUTCString();
const stored = { etag: '"v1"', 'last-modified': date(T - 60_000), date: date(T) };
const answer = (range: string | undefined, extra: Record<string, string> = {}, length = 100, headers: Record<string, string> = stored) =>
  rangeAnswer('GET', { ...(range === undefined ? {} : { range }), ...extra }, 200, headers, length);

t.test('RFC 9110 §14.1.2: byte ranges', async (t) => {
  t.same(answer('bytes=0-9'), { kind: 'partial', start: 0, end: 9 });
  t.same(answer('bytes=90-'), { kind: 'partial', start: 90, end: 99 });
  t.same(answer('bytes=-10'), { kind: 'partial', start: 90, end: 99 }, 'a suffix');
  t.same(answer('bytes=-500'), { kind: 'partial', start: 0, end: 99 }, 'a suffix longer than the body is the whole body');
  t.same(answer('bytes=50-500'), { kind: 'partial', start: 50, end: 99 }, 'a last position past the end is cut');
  t.same(answer(' Bytes = 0-9 '), { kind: 'partial', start: 0, end: 9 }, 'unit case and whitespace');
  t.same(answer(undefined), { kind: 'full' });
});

t.test('RFC 9110 §14.2: an invalid Range is ignored', async (t) => {
  for (const range of ['bytes=9-0', 'items=0-9', 'bytes=', 'bytes=-', 'bytes=a-b', '0-9']) t.same(answer(range), { kind: 'full' }, range);
});

t.test('RFC 9110 §15.5.17: a range set with no satisfiable range is 416', async (t) => {
  t.same(answer('bytes=100-'), { kind: 'unsatisfiable' });
  t.same(answer('bytes=-0'), { kind: 'unsatisfiable' });
  t.same(answer('bytes=0-9', {}, 0), { kind: 'unsatisfiable' }, 'any range of an empty body');
});

t.test('RFC 9110 §14.2: several ranges', async (t) => {
  t.same(answer('bytes=0-9, 10-19'), { kind: 'partial', start: 0, end: 19 }, 'adjacent ranges join');
  t.same(answer('bytes=5-15,0-9'), { kind: 'partial', start: 0, end: 15 }, 'overlapping ranges join');
  t.same(answer('bytes=0-9, 50-59'), { kind: 'full' }, 'disjoint ranges get the whole body');
  t.same(answer('bytes=0-9, 200-'), { kind: 'partial', start: 0, end: 9 }, 'unsatisfiable members are dropped');
});

t.test('RFC 9110 §13.1.5: If-Range', async (t) => {
  t.same(answer('bytes=0-9', { 'if-range': '"v1"' }), { kind: 'partial', start: 0, end: 9 });
  t.same(answer('bytes=0-9', { 'if-range': '"v2"' }), { kind: 'full' }, 'another tag: the whole current body');
  t.same(answer('bytes=0-9', { 'if-range': 'W/"v1"' }), { kind: 'full' }, 'a weak tag never matches');
  t.same(answer('bytes=0-9', { 'if-range': '"v1"' }, 100, { ...stored, etag: 'W/"v1"' }), { kind: 'full' }, 'nor a weak stored tag');
  t.same(answer('bytes=0-9', { 'if-range': date(T - 60_000) }), { kind: 'partial', start: 0, end: 9 }, 'the exact Last-Modified');
  t.same(answer('bytes=0-9', { 'if-range': date(T - 120_000) }), { kind: 'full' }, 'another date');
  t.same(answer('bytes=0-9', { 'if-range': date(T) }, 100, { ...stored, 'last-modified': date(T) }), { kind: 'full' }, 'a Last-Modified as late as Date is weak');
});

t.test('only a GET of a 200', async (t) => {
  t.same(rangeAnswer('HEAD', { range: 'bytes=0-9' }, 200, stored, 100), { kind: 'full' });
  t.same(rangeAnswer('GET', { range: 'bytes=0-9' }, 404, stored, 100), { kind: 'full' });
});
