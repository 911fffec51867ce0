import t, { type Test } from 'tap';
import { AuditQueryError, buildListQuery, encodeCursor, parseStatusFilter, parseWindow } from '../../../src/audit/queries.js';

/** Asserts fn throws an AuditQueryError naming `param`. */
function refuses(t: Test, fn: () => unknown, param: string, name: string): void {
  try {
    fn();
    t.fail(`${name}: expected an error naming ${param}`);
  } catch (err) {
    t.ok(err instanceof AuditQueryError, `${name}: AuditQueryError`);
    t.equal((err as AuditQueryError).param, param, `${name}: names ${param}`);
    t.match((err as Error).message, new RegExp(`^${param}: \\S`), `${name}: message starts with the parameter`);
  }
}

t.test('parseWindow: minutes, hours, days and weeks up to 400 days', async (t) => {
  t.equal(parseWindow('90m'), 90 * 60_000);
  t.equal(parseWindow('24h'), 86_400_000);
  t.equal(parseWindow('7d'), 7 * 86_400_000);
  t.equal(parseWindow('2w'), 14 * 86_400_000);
  t.equal(parseWindow('400d'), 400 * 86_400_000);
  t.equal(parseWindow('9600h'), 400 * 86_400_000);
  t.equal(parseWindow('57w'), 399 * 86_400_000);
  for (const bad of ['7y', '0d', '0m', 'abc', '', '7', 'd', '7 d', '-1d', '1.5h', '7D', '401d', '58w', '9601h', '576001m', '1234567d']) {
    refuses(t, () => parseWindow(bad), 'window', JSON.stringify(bad));
  }
});

t.test('parseStatusFilter: one status or a class', async (t) => {
  t.same(parseStatusFilter(404), { min: 404, max: 405 });
  t.same(parseStatusFilter('404'), { min: 404, max: 405 });
  t.same(parseStatusFilter('5xx'), { min: 500, max: 600 });
  t.same(parseStatusFilter('2XX'), { min: 200, max: 300 });
  for (const bad of ['abc', '6xx', '0xx', '99', '600', '5x', '', ' 404', 99, 600, 404.5, NaN]) {
    refuses(t, () => parseStatusFilter(bad), 'status', JSON.stringify(bad));
  }
});

t.test('buildListQuery: every value is a bind parameter', async (t) => {
  const hostile = `'; DROP TABLE audit_logs; --`;
  const statement = buildListQuery(
    {
      session: '11111111-1111-4111-8111-111111111111',
      user: hostile,
      upstream: `${hostile}u`,
      action: `${hostile}a`,
      status: '5xx',
      cache: 'STALE',
      from: new Date('2025-03-10T00:00:00Z'),
      to: new Date('2025-03-11T00:00:00Z'),
    },
    { limit: 3, cursor: encodeCursor({ ms: Date.parse('2025-03-10T12:00:00.123Z'), us: 250, id: `${hostile}c` }) },
  );
  t.notMatch(statement.text, /DROP|11111111|STALE|2025|500/, 'no value in the SQL text');
  t.same(statement.params, [
    '11111111-1111-4111-8111-111111111111',
    hostile,
    `${hostile}u`,
    `${hostile}a`,
    500,
    600,
    'STALE',
    '2025-03-10T00:00:00.000Z',
    '2025-03-11T00:00:00.000Z',
    '2025-03-10T12:00:00.123250Z',
    `${hostile}c`,
    4,
  ]);
  const placeholders = new Set(statement.text.match(/\$\d+/g));
  t.equal(placeholders.size, statement.params.length, 'one placeholder per parameter');
  t.match(statement.text, /ORDER BY ts DESC, request_id DESC LIMIT \$12$/);
});

t.test('buildListQuery: no filters, default limit, NONE and exact statuses', async (t) => {
  const plain = buildListQuery({});
  t.notMatch(plain.text, /WHERE/);
  t.same(plain.params, [101], 'default limit 100, plus one to see whether a next page exists');
  const none = buildListQuery({ cache: 'NONE', status: 404 }, { limit: 1 });
  t.match(none.text, /status = \$1 AND cache_outcome IS NULL/);
  t.same(none.params, [404, 2]);
});

t.test('buildListQuery: refuses bad inputs by name', async (t) => {
  refuses(t, () => buildListQuery({}, { limit: 0 }), 'limit', 'limit 0');
  refuses(t, () => buildListQuery({}, { limit: 1001 }), 'limit', 'limit 1001');
  refuses(t, () => buildListQuery({}, { limit: 1.5 }), 'limit', 'limit 1.5');
  refuses(t, () => buildListQuery({ session: 'nope' }), 'session', 'session');
  refuses(t, () => buildListQuery({ cache: 'MAYBE' as 'HIT' }), 'cache', 'cache');
  refuses(t, () => buildListQuery({ status: 'abc' }), 'status', 'status');
  refuses(t, () => buildListQuery({ from: new Date('yesterday') }), 'from', 'from');
  refuses(t, () => buildListQuery({ to: new Date(NaN) }), 'to', 'to');
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  for (const cursor of ['', 'garbage!!', b64('nope'), b64([1]), b64(null), b64({ ts: -1, id: 'x' }), b64({ ts: 1e16, id: 'x' }), b64({ ts: 1, id: 7 }), b64({ ts: 1, us: -1, id: 'x' }), b64({ ts: 1, id: 'x', extra: 1 })]) {
    refuses(t, () => buildListQuery({}, { cursor }), 'cursor', `cursor ${JSON.stringify(cursor)}`);
  }
});

t.test('cursor: base64url JSON of the last row’s ts (ms) and id', async (t) => {
  const cursor = encodeCursor({ ms: 1741564800123, id: 'req-1' });
  t.match(cursor, /^[A-Za-z0-9_-]+$/);
  t.same(JSON.parse(Buffer.from(cursor, 'base64url').toString()), { ts: 1741564800123, id: 'req-1' });
  t.same(JSON.parse(Buffer.from(encodeCursor({ ms: 1, us: 7, id: 'x' }), 'base64url').toString()), { ts: 1, us: 7, id: 'x' }, 'sub-millisecond rows add us');
  t.same(buildListQuery({}, { cursor }).params.slice(0, 2), ['2025-03-10T00:00:00.123000Z', 'req-1']);
});
