import t from 'tap';
import { buildAdminApp } from '../../../src/admin/server.js';
import { listAudit, type AuditRow } from '../../../src/audit/queries.js';
import { databases } from '../../helpers/database.js';
import { BASE_MS, DAY_MS, fixtureDatabase, fixtureRows, insertRows, listingOrder, SESSIONS, tsText, type FixtureRow } from './fixtures.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';

interface Listing {
  items: AuditRow[];
  nextCursor: string | null;
}

for (const target of await databases(t)) {
  t.test(`GET /admin/audit on ${target.name}`, async (t) => {
    const rows = fixtureRows();
    const db = await fixtureDatabase(t, target, rows);
    const app = buildAdminApp({ token: TEST_ADMIN_TOKEN, db, logger: false });
    t.teardown(() => app.close());

    async function list(query: Record<string, string>): Promise<Listing> {
      const response = await adminInject(app, { url: '/admin/audit', query });
      if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`);
      return response.json();
    }

    /** Follows nextCursor to the end; returns every request id in the order the pages gave them. */
    async function walk(query: Record<string, string>): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Listing = await list(cursor === null ? query : { ...query, cursor });
        ids.push(...page.items.map((item) => item.requestId));
        cursor = page.nextCursor;
        pages++;
        if (pages > rows.length + 2) throw new Error('pagination does not end');
      } while (cursor !== null);
      return { ids, pages };
    }

    t.test('without filters: every row, newest first, ties broken by request id', async (t) => {
      const listing = await list({ limit: '1000' });
      t.same(listing.items.map((item) => item.requestId), listingOrder(rows));
      t.equal(listing.nextCursor, null);
      const byDefault = await list({});
      t.equal(byDefault.items.length, Math.min(100, rows.length), 'default limit is 100');
    });

    t.test('each filter returns exactly the matching rows', async (t) => {
      const at = (days: number) => BASE_MS + days * DAY_MS;
      const us = (ms: number) => BigInt(ms) * 1000n;
      const cases: Array<[string, Record<string, string>, (row: FixtureRow) => boolean]> = [
        ['session', { session: SESSIONS[1] }, (r) => r.session_id === SESSIONS[1]],
        ['session in upper case', { session: SESSIONS[0].toUpperCase() }, (r) => r.session_id === SESSIONS[0]],
        ['user', { user: 'alice' }, (r) => r.user_identifier === 'alice'],
        ['upstream', { upstream: 'jira' }, (r) => r.upstream === 'jira'],
        ['action', { action: 'salesforce.sobject.read' }, (r) => r.action === 'salesforce.sobject.read'],
        ['exact status', { status: '404' }, (r) => r.status === 404],
        ['status class 5xx', { status: '5xx' }, (r) => r.status >= 500 && r.status < 600],
        ['status class 2XX', { status: '2XX' }, (r) => r.status >= 200 && r.status < 300],
        ['cache HIT', { cache: 'HIT' }, (r) => r.cache_outcome === 'HIT'],
        ['cache MISS', { cache: 'MISS' }, (r) => r.cache_outcome === 'MISS'],
        ['cache STALE', { cache: 'STALE' }, (r) => r.cache_outcome === 'STALE'],
        ['cache BYPASS', { cache: 'BYPASS' }, (r) => r.cache_outcome === 'BYPASS'],
        ['cache NONE', { cache: 'NONE' }, (r) => r.cache_outcome === null],
        ['from (ISO, inclusive)', { from: new Date(at(2)).toISOString() }, (r) => r.tsUs >= us(at(2))],
        ['from (date only)', { from: '2025-03-12' }, (r) => r.tsUs >= us(at(2))],
        ['to (epoch ms, exclusive)', { to: String(at(1) + 7_919_000) }, (r) => r.tsUs < us(at(1) + 7_919_000)],
        ['from and to', { from: new Date(at(1)).toISOString(), to: new Date(at(3)).toISOString() }, (r) => r.tsUs >= us(at(1)) && r.tsUs < us(at(3))],
        [
          'several at once',
          { upstream: 'salesforce', cache: 'MISS', from: '2025-03-10T12:00:00Z' },
          (r) => r.upstream === 'salesforce' && r.cache_outcome === 'MISS' && r.tsUs >= us(BASE_MS + DAY_MS / 2),
        ],
      ];
      for (const [name, query, matches] of cases) {
        const expected = listingOrder(rows.filter(matches));
        t.ok(expected.length > 0 && expected.length < rows.length, `${name}: the fixture has matching and other rows`);
        const listing = await list({ ...query, limit: '1000' });
        t.same(listing.items.map((item) => item.requestId), expected, name);
        t.equal(listing.nextCursor, null, `${name}: one page`);
      }
      t.same((await list({ user: 'nobody' })).items, [], 'no match: empty page');
      t.same((await list({ status: '418' })).items, [], 'no row with that status');
    });

    t.test('items are camelCase JSON with ISO timestamps and numbers', async (t) => {
      const row = rows.find((r) => r.request_id === 'req-0003')!;
      const { items } = await list({ limit: '1000' });
      t.same(items.find((item) => item.requestId === 'req-0003'), {
        requestId: 'req-0003',
        ts: new Date(Number(row.tsUs / 1000n)).toISOString(),
        sessionId: row.session_id,
        userIdentifier: row.user_identifier,
        upstream: row.upstream,
        method: row.method,
        path: row.path,
        query: row.query,
        action: row.action,
        resourceType: row.resource_type,
        resourceId: row.resource_id,
        status: row.status,
        cacheOutcome: row.cache_outcome,
        cacheTier: row.cache_tier,
        totalMs: row.total_ms,
        upstreamMs: row.upstream_ms,
        requestBytes: row.request_bytes,
        responseBytes: row.response_bytes,
        clientIp: row.client_ip,
        userAgent: row.user_agent,
        errorCode: row.error_code,
      });
      const micro = items.find((item) => item.requestId === 'req-0021')!;
      t.equal(micro.ts, new Date(Number(rows[21]!.tsUs / 1000n)).toISOString(), 'sub-millisecond digits are cut to milliseconds');
    });

    for (const limit of [1, 3, 1000]) {
      t.test(`pagination with limit ${limit} walks every row once, in order`, async (t) => {
        const { ids, pages } = await walk({ limit: String(limit) });
        t.same(ids, listingOrder(rows), 'no duplicates, no gaps');
        t.equal(pages, Math.max(1, Math.ceil(rows.length / limit)));
      });
    }

    t.test('pagination with a filter', async (t) => {
      const { ids } = await walk({ limit: '2', upstream: 'salesforce', status: '2xx' });
      t.same(ids, listingOrder(rows.filter((r) => r.upstream === 'salesforce' && r.status >= 200 && r.status < 300)));
    });

    t.test('the last page exactly at the limit has no next cursor', async (t) => {
      const first = await list({ limit: String(rows.length - 1) });
      t.ok(first.nextCursor);
      const last = await list({ limit: String(rows.length - 1), cursor: first.nextCursor! });
      t.equal(last.items.length, 1);
      t.equal(last.nextCursor, null);
    });

    t.test('a cursor stays valid while newer rows arrive', async (t) => {
      const first = await listAudit(db, {}, { limit: 5 });
      const newest = Number(rows.reduce((max, r) => (r.tsUs > max ? r.tsUs : max), 0n) / 1000n);
      const newer = fixtureRows(3).map((row, i) => ({ ...row, request_id: `new-${i}`, ts: tsText(newest + 1 + i), tsUs: BigInt(newest + 1 + i) * 1000n }));
      await insertRows(db, newer);
      t.teardown(() => db.query(`DELETE FROM audit_logs WHERE request_id LIKE 'new-%'`).then(() => undefined));

      const ids = first.items.map((item) => item.requestId);
      let cursor = first.nextCursor;
      while (cursor !== null) {
        const page = await listAudit(db, {}, { limit: 7, cursor });
        ids.push(...page.items.map((item) => item.requestId));
        cursor = page.nextCursor;
        // More new rows mid-walk change nothing either.
        if (ids.length === 12) await insertRows(db, [{ ...newer[0]!, request_id: 'new-late', ts: tsText(newest + 10), tsUs: BigInt(newest + 10) * 1000n }]);
      }
      t.same(ids, listingOrder(rows), 'the walk sees exactly the rows older than its start');
      t.equal((await listAudit(db, {}, { limit: 1 })).items[0]!.requestId, 'new-late', 'a fresh listing starts with the new rows');
    });
  });
}
