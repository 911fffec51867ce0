import t from 'tap';
import { privacyRoutes } from '../../../src/admin/privacy-routes.js';
import { buildAdminApp } from '../../../src/admin/server.js';
import type { AuditEventFields } from '../../../src/audit/events.js';
import { insertAuditEvents } from '../../../src/audit/insert.js';
import { ensurePartitions } from '../../../src/audit/partitions.js';
import { erasedUser } from '../../../src/audit/pseudonym.js';
import { auditEvent } from '../../../src/audit/events.js';
import { databases, pglite } from '../../helpers/database.js';
import { adminInject, TEST_ADMIN_TOKEN } from '../../helpers/admin.js';

const SECRET = 'privacy-test-secret';
const JAN_15 = Date.UTC(2026, 0, 15, 12);
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const ALICE_SESSION = '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e';
const BOB_SESSION = '6a1d7b3f-9e8c-4d2b-8f4a-3c5e7a9b1d2f';
const ALICE_IP = '203.0.113.77';

/** Rows in January, February and March (partitions) and in 2025 (no partition: DEFAULT), for Alice and Bob. */
function rows() {
  const months = [Date.UTC(2025, 5, 1), JAN_15, Date.UTC(2026, 1, 10), Date.UTC(2026, 2, 20)];
  const out = [];
  for (const [m, ts] of months.entries()) {
    for (let i = 0; i < 3; i++) {
      out.push(auditEvent({ requestId: `a-${m}-${i}`, ts: ts + i, method: 'GET', path: '/x', action: 'read', status: 200, upstream: 'api', cacheOutcome: i === 0 ? 'MISS' : 'HIT', userIdentifier: ALICE, sessionId: ALICE_SESSION, clientIp: ALICE_IP }));
      out.push(auditEvent({ requestId: `b-${m}-${i}`, ts: ts + i, method: 'GET', path: '/x', action: 'read', status: 200, upstream: 'api', cacheOutcome: 'HIT', userIdentifier: BOB, sessionId: BOB_SESSION, clientIp: '198.51.100.1' }));
    }
    // A row of Alice's session that carries no user header.
    out.push(auditEvent({ requestId: `s-${m}`, ts: ts + 9, method: 'GET', path: '/y', action: 'read', status: 500, sessionId: ALICE_SESSION, clientIp: ALICE_IP }));
  }
  return out;
}

for (const target of await databases(t)) {
  t.test(`privacy erase and export on ${target.name}`, async (t) => {
    const db = await target.open(t, { migrate: true });
    await ensurePartitions(db, JAN_15, 2);
    t.equal((await insertAuditEvents(db, rows())).inserted, 28);
    for (const [id, user] of [[ALICE_SESSION, ALICE], [BOB_SESSION, BOB]] as const) {
      await db.query(`INSERT INTO user_sessions (id, token_hash, user_identifier, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')`, [id, `hash-${id}`, user]);
    }
    const placement = await db.query<{ p: string; n: string }>(`SELECT tableoid::regclass::text AS p, count(*) AS n FROM audit_logs WHERE user_identifier = $1 GROUP BY 1 ORDER BY 1`, [ALICE]);
    t.same(placement.rows.map((r) => r.p), ['audit_logs_default', 'audit_logs_y2026m01', 'audit_logs_y2026m02', 'audit_logs_y2026m03'], "Alice's rows span three partitions and DEFAULT");

    const recorded: AuditEventFields[] = [];
    let flushed = 0;
    // The spool holds rows for two replay checks, then is empty.
    let spooledTurns = 2;
    let replayChecks = 0;
    const app = buildAdminApp({
      db,
      token: TEST_ADMIN_TOKEN,
      logger: false,
      now: () => Date.UTC(2026, 3, 1),
      adminRoutes: async (admin) => {
        await admin.register(privacyRoutes, { db, secret: () => SECRET, audit: { record: (e) => recorded.push(e), flush: async () => void flushed++, replayPending: () => (replayChecks++, spooledTurns-- > 0) } });
      },
    });
    t.teardown(() => app.close());
    const counts = async () =>
      (await db.query<{ k: string; n: string }>(`SELECT coalesce(upstream, '-') || '/' || coalesce(cache_outcome, '-') || '/' || status AS k, count(*) AS n, count(DISTINCT session_id) AS s, count(DISTINCT user_identifier) AS u FROM audit_logs GROUP BY 1 ORDER BY 1`)).rows;
    const report = async () => (await adminInject(app, '/admin/audit/report?window=400d')).json();

    t.test('export: sessions and audit rows, paged', async (t) => {
      const first = (await adminInject(app, `/admin/privacy/export?user=${encodeURIComponent(ALICE)}&limit=5`)).json();
      t.same(first.sessions.map((s: { id: string }) => s.id), [ALICE_SESSION]);
      t.equal(first.audit.items.length, 5);
      const ids = first.audit.items.map((i: { requestId: string }) => i.requestId);
      let cursor = first.audit.nextCursor;
      while (cursor !== null) {
        const page = (await adminInject(app, `/admin/privacy/export?user=${encodeURIComponent(ALICE)}&limit=5&cursor=${cursor}`)).json();
        t.equal(page.sessions, null, 'sessions on the first page only');
        ids.push(...page.audit.items.map((i: { requestId: string }) => i.requestId));
        cursor = page.audit.nextCursor;
      }
      t.equal(ids.length, 12, "every row with Alice's id, across partitions");
      t.ok(ids.every((id: string) => id.startsWith('a-')));
    });

    t.test('bad requests get precise 400s', async (t) => {
      const noUser = await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: {} });
      t.equal(noUser.statusCode, 400);
      t.match(noUser.json().message, /user/);
      t.equal((await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: { user: '' } })).statusCode, 400);
      t.equal((await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: { user: ALICE, extra: 1 } })).statusCode, 400);
      t.equal((await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: 'nope', headers: { 'content-type': 'text/plain' } })).statusCode >= 400, true);
      t.equal((await adminInject(app, '/admin/privacy/export')).statusCode, 400);
    });

    t.test('erase: sessions deleted, rows pseudonymised in every partition, counts unchanged, itself audited', async (t) => {
      const before = await counts();
      const reportBefore = await report();
      const res = await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: { user: ALICE } });
      t.equal(res.statusCode, 200);
      const body = res.json();
      t.same(body, { pseudonym: erasedUser(SECRET, ALICE), sessionsDeleted: 1, auditRowsPseudonymised: 16 });
      t.equal(flushed, 1, 'the audit buffer was flushed first');
      t.equal(replayChecks, 3, 'and the spool replayed before the erase ran');
      const left = await db.query(`SELECT 1 FROM audit_logs WHERE user_identifier = $1 OR client_ip = $2 OR session_id = $3::uuid`, [ALICE, ALICE_IP, ALICE_SESSION]);
      t.equal(left.rowCount, 0, 'no row carries her id, IP or session');
      t.equal((await db.query(`SELECT 1 FROM user_sessions WHERE user_identifier = $1`, [ALICE])).rowCount, 0, 'her sessions are gone');
      t.equal((await db.query(`SELECT 1 FROM user_sessions WHERE user_identifier = $1`, [BOB])).rowCount, 1, "Bob's stays");
      t.equal((await db.query(`SELECT 1 FROM audit_logs WHERE user_identifier = $1 AND client_ip IS NOT NULL`, [BOB])).rowCount, 12, "Bob's rows untouched");
      t.same(await counts(), before, 'counts per facet, distinct sessions and distinct users unchanged');
      // The report is unchanged but for her name in the top users, which is now the stand-in.
      type ByUser = { user: string | null }[];
      const byName = (rows: ByUser) => [...rows].sort((a, b) => String(a.user).localeCompare(String(b.user)));
      const reportAfter = await report();
      t.same({ ...reportAfter, byUser: null }, { ...reportBefore, byUser: null }, 'the audit report is unchanged');
      t.same(
        byName(reportAfter.byUser as ByUser),
        byName((reportBefore.byUser as ByUser).map((row) => (row.user === ALICE ? { ...row, user: body.pseudonym } : row))),
        'top users: the same counts, hers under the stand-in',
      );
      const sessions = await db.query<{ s: string }>(`SELECT DISTINCT session_id::text AS s FROM audit_logs WHERE user_identifier = $1`, [body.pseudonym]);
      t.equal(sessions.rowCount, 1, 'her rows still share one (hashed) session link');
      t.match(recorded, [{ action: 'admin.privacy.erase', resourceId: body.pseudonym }]);
      t.notOk(JSON.stringify(recorded).includes(ALICE), 'the erase record does not name her');
      const again = (await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: { user: ALICE } })).json();
      t.same(again, { pseudonym: body.pseudonym, sessionsDeleted: 0, auditRowsPseudonymised: 0 }, 'idempotent');
      const exported = (await adminInject(app, `/admin/privacy/export?user=${encodeURIComponent(ALICE)}`)).json();
      t.same([exported.sessions, exported.audit.items], [[], []], 'nothing left to export');
    });
  });
}

t.test('without a database: 503 audit_unavailable', async (t) => {
  const app = buildAdminApp({ db: null, token: TEST_ADMIN_TOKEN, logger: false, adminRoutes: async (admin) => {
    await admin.register(privacyRoutes, { db: null, secret: () => SECRET, audit: null });
  } });
  t.teardown(() => app.close());
  const res = await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: { user: ALICE } });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error, 'audit_unavailable');
});

t.test('an erase waits for spooled audit rows, and refuses (503, Retry-After) while they are still being replayed', async (t) => {
  const db = await pglite.open(t, { migrate: true });
  await db.query(`INSERT INTO user_sessions (id, token_hash, user_identifier, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')`, [ALICE_SESSION, 'hash-a', ALICE]);
  const app = buildAdminApp({ db, token: TEST_ADMIN_TOKEN, logger: false, adminRoutes: async (admin) => {
    await admin.register(privacyRoutes, { db, secret: () => SECRET, audit: { record: () => undefined, flush: async () => undefined, replayPending: () => true } });
  } });
  t.teardown(() => app.close());
  const res = await adminInject(app, { method: 'POST', url: '/admin/privacy/erase', payload: { user: ALICE } });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error, 'audit_spool_pending');
  t.equal(res.headers['retry-after'], '5');
  t.equal((await db.query(`SELECT 1 FROM user_sessions WHERE user_identifier = $1`, [ALICE])).rowCount, 1, 'nothing was erased: a replay after it would bring her id back');
});
