import t, { type Test } from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { auditReport, REPORT_QUERIES, TOP_N, type LatencySummary, type Report } from '../../../src/audit/queries.js';
import { databases } from '../../helpers/database.js';
import { BASE_MS, DAY_MS, fixtureDatabase, fixtureRows, percentileCont, tsText, type FixtureRow } from './fixtures.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';

const TOLERANCE = 1e-9;

/** The report computed in JS from the fixture rows, as the SQL should compute it. */
function expectedReport(rows: readonly FixtureRow[]): Omit<Report, 'from' | 'to'> {
  const isError = (r: FixtureRow) => r.status >= 500 || r.error_code !== null;
  const facet = (subset: readonly FixtureRow[]) => ({ requests: subset.length, errors: subset.filter(isError).length });
  const ratio = (subset: readonly FixtureRow[]) => {
    const served = ['HIT', 'STALE', 'REVALIDATED'];
    const hits = subset.filter((r) => served.includes(r.cache_outcome ?? '')).length;
    const cacheable = subset.filter((r) => served.includes(r.cache_outcome ?? '') || r.cache_outcome === 'MISS').length;
    return cacheable === 0 ? null : hits / cacheable;
  };
  const latency = (subset: readonly FixtureRow[]): LatencySummary => {
    const total = subset.map((r) => r.total_ms);
    const upstream = subset.flatMap((r) => (r.upstream_ms === null ? [] : [r.upstream_ms]));
    return {
      totalP50: percentileCont(total, 0.5),
      totalP95: percentileCont(total, 0.95),
      upstreamP50: percentileCont(upstream, 0.5),
      upstreamP95: percentileCont(upstream, 0.95),
    };
  };
  const groups = <K>(key: (r: FixtureRow) => K) => {
    const map = new Map<K, FixtureRow[]>();
    for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), row]);
    return map;
  };
  const day = (r: FixtureRow) => new Date(Number(r.tsUs / 1000n)).toISOString().slice(0, 10);
  // As the SQL orders them: busiest first, then by name, nulls last.
  const byCount = (name: string) => (a: Record<string, unknown>, b: Record<string, unknown>) => {
    const [x, y] = [a[name] as string | null, b[name] as string | null];
    const byName = x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
    return (b['requests'] as number) - (a['requests'] as number) || byName;
  };
  return {
    totalRequests: rows.length,
    errorCount: rows.filter(isError).length,
    hitRatio: ratio(rows),
    latency: latency(rows),
    byDay: [...groups(day)].map(([d, subset]) => ({ day: d, ...facet(subset) })).sort((a, b) => a.day.localeCompare(b.day)),
    byUpstream: [...groups((r) => r.upstream)].map(([upstream, subset]) => ({ upstream, ...facet(subset), hitRatio: ratio(subset), latency: latency(subset) })).sort(byCount('upstream')),
    byAction: [...groups((r) => r.action)].map(([action, subset]) => ({ action, ...facet(subset) })).sort(byCount('action')),
    byCacheOutcome: {
      HIT: rows.filter((r) => r.cache_outcome === 'HIT').length,
      MISS: rows.filter((r) => r.cache_outcome === 'MISS').length,
      STALE: rows.filter((r) => r.cache_outcome === 'STALE').length,
      REVALIDATED: rows.filter((r) => r.cache_outcome === 'REVALIDATED').length,
      BYPASS: rows.filter((r) => r.cache_outcome === 'BYPASS').length,
      NONE: rows.filter((r) => r.cache_outcome === null).length,
    },
    byUser: [...groups((r) => r.user_identifier)].map(([user, subset]) => ({ user, ...facet(subset) })).sort(byCount('user')).slice(0, TOP_N),
    topResources: [...groups((r) => (r.resource_type === null ? null : `${r.resource_type}\u0000${r.resource_id}`))]
      .flatMap(([key, subset]) => (key === null ? [] : [{ resourceType: subset[0]!.resource_type!, resourceId: subset[0]!.resource_id, resource: key, ...facet(subset) }]))
      .sort(byCount('resource'))
      .slice(0, TOP_N)
      .map(({ resource: _, ...rest }) => rest),
  };
}

/** Deep comparison with a tolerance for floating-point numbers. */
function close(t: Test, actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    t.ok(Math.abs(actual - expected) <= TOLERANCE * Math.max(1, Math.abs(expected)), `${path}: ${actual} ≈ ${expected}`);
  } else if (Array.isArray(expected) && Array.isArray(actual)) {
    t.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((item, i) => close(t, actual[i], item, `${path}[${i}]`));
  } else if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    t.same(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const key of Object.keys(expected)) close(t, (actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
  } else {
    t.same(actual, expected, path);
  }
}

for (const target of await databases(t)) {
  t.test(`audit report on ${target.name}`, async (t) => {
    const rows = fixtureRows();
    // Just outside [BASE, BASE + 5d): the window is inclusive at the start, exclusive at the end.
    const outside = [
      { ...fixtureRows(1)[0]!, request_id: 'before', ts: tsText(BASE_MS - 1), tsUs: BigInt(BASE_MS - 1) * 1000n, status: 500 },
      { ...fixtureRows(1)[0]!, request_id: 'after', ts: tsText(BASE_MS + 5 * DAY_MS), tsUs: BigInt(BASE_MS + 5 * DAY_MS) * 1000n },
    ];
    const db = await fixtureDatabase(t, target, [...rows, ...outside]);
    const expected = expectedReport(rows);

    t.test('the fixture exercises every facet', async (t) => {
      t.ok(expected.byDay.length >= 5, 'several days');
      t.ok(expected.byUpstream.some((u) => u.upstream === null), 'requests without an upstream');
      t.ok(expected.errorCount > rows.filter((r) => r.status >= 500).length, 'errors by error code alone');
      t.ok(expected.byCacheOutcome.STALE > 0 && expected.byCacheOutcome.NONE > 0);
    });

    t.test('auditReport matches the numbers computed from the rows', async (t) => {
      const from = new Date(BASE_MS);
      const to = new Date(BASE_MS + 5 * DAY_MS);
      const report = await auditReport(db, { from, to });
      t.equal(report.from, from.toISOString());
      t.equal(report.to, to.toISOString());
      close(t, { ...report, from: undefined, to: undefined }, { ...expected, from: undefined, to: undefined }, 'report');
    });

    t.test('a window with no rows: zeros and nulls', async (t) => {
      const report = await auditReport(db, { from: new Date(BASE_MS - 30 * DAY_MS), to: new Date(BASE_MS - 20 * DAY_MS) });
      t.same(report, {
        from: new Date(BASE_MS - 30 * DAY_MS).toISOString(),
        to: new Date(BASE_MS - 20 * DAY_MS).toISOString(),
        totalRequests: 0,
        errorCount: 0,
        hitRatio: null,
        latency: { totalP50: null, totalP95: null, upstreamP50: null, upstreamP95: null },
        byDay: [],
        byUpstream: [],
        byAction: [],
        byCacheOutcome: { HIT: 0, MISS: 0, STALE: 0, REVALIDATED: 0, BYPASS: 0, NONE: 0 },
        byUser: [],
        topResources: [],
      });
    });

    t.test('GET /admin/audit/report covers the window before now', async (t) => {
      const app = buildAdminApp({ token: TEST_ADMIN_TOKEN, db, logger: false, now: () => BASE_MS + 5 * DAY_MS });
      t.teardown(() => app.close());

      const week = await adminInject(app, '/admin/audit/report');
      t.equal(week.statusCode, 200);
      const body = week.json();
      t.equal(body.window, '7d', 'default window');
      t.equal(body.to, new Date(BASE_MS + 5 * DAY_MS).toISOString());
      t.equal(body.from, new Date(BASE_MS - 2 * DAY_MS).toISOString());
      // 7 days back includes the row just before BASE; the end is exclusive.
      close(t, body.totalRequests, rows.length + 1, 'totalRequests');
      close(t, body.errorCount, expected.errorCount + 1, 'errorCount');

      const twoDays = (await adminInject(app, '/admin/audit/report?window=48h')).json();
      const recent = rows.filter((r) => r.tsUs >= BigInt(BASE_MS + 3 * DAY_MS) * 1000n);
      close(t, { ...twoDays, window: undefined, from: undefined, to: undefined }, { ...expectedReport(recent), window: undefined, from: undefined, to: undefined }, '48h');
      t.equal(twoDays.window, '48h');
    });

    t.test('every report query is bounded by the ts index', async (t) => {
      for (const [name, text] of Object.entries(REPORT_QUERIES)) {
        t.match(text, /WHERE ts >= \$1::timestamptz AND ts < \$2::timestamptz/, name);
      }
      if (target.name !== 'postgres') return;
      // With sequential scans discouraged, the plan must be able to use audit_logs_ts_idx.
      await db.withClient(async (client) => {
        await client.query('SET enable_seqscan = off');
        try {
          const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${REPORT_QUERIES.totals}`.replace(/\$1::timestamptz/g, `'${tsText(BASE_MS)}'::timestamptz`).replace(/\$2::timestamptz/g, `'${tsText(BASE_MS + DAY_MS)}'::timestamptz`));
          t.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /audit_logs_default_ts_idx|Index|Bitmap/, 'an index on ts is used');
        } finally {
          await client.query('RESET enable_seqscan');
        }
      });
    });
  });
}
