import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { copyAuditRows } from '../../../src/audit/copy.js';
import type { AuditEvent } from '../../../src/audit/events.js';
import { insertAuditEvents } from '../../../src/audit/writer.js';
import { REJECTED_FILE } from '../../../src/audit/spool.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { rowCount, switchable, testEvent, testWriter, waitFor } from './helpers.js';

/**
 * The COPY path (src/audit/copy.ts, database-writes.ts) against real Postgres: what it writes is
 * exactly what the INSERT path writes, and every way a COPY can fail ends with each event in the
 * table once.
 */

const target = await postgresOrSkip(t);
const events = (n: number, from = 0): AuditEvent[] => Array.from({ length: n }, (_, i) => testEvent(from + i));

const ROWS = `SELECT request_id, (extract(epoch FROM ts) * 1000)::float8 AS ts, session_id::text AS session_id, user_identifier,
  upstream, method, path, query, action, resource_type, resource_id, status, cache_outcome, cache_tier,
  total_ms::float8 AS total_ms, upstream_ms::float8 AS upstream_ms, request_bytes, response_bytes, client_ip, user_agent, error_code
  FROM audit_logs ORDER BY request_id`;

/** Values COPY's text format must carry through: its delimiters, escapes, markers, and non-ASCII. */
const awkward = (): AuditEvent[] => [
  testEvent(1, { userAgent: 'tab\there', path: '/line\nbreak', query: 'crlf=\r\n&x=1' }),
  testEvent(2, { userAgent: 'C:\\Windows\\agent \\N \\. \\\\', resourceId: '\\' }),
  testEvent(3, { userAgent: '\\.', query: '\\N', userIdentifier: 'N' }),
  testEvent(4, { userAgent: 'ünïcødé 日本語 🚀 e\u0301', userIdentifier: 'Ω≈ç√∫', path: '/ĉu/ŝi?' }),
  testEvent(5, { userAgent: `Mozilla/5.0 (${'\t\n\\'.repeat(400)})`, path: `/${'p'.repeat(5_000)}` }),
  testEvent(6, { userAgent: 'nul\u0000inside', errorCode: 'upstream_timeout', status: 0, totalMs: 0, upstreamMs: 0 }),
  testEvent(7, { userAgent: null, sessionId: null, userIdentifier: null, query: null, cacheOutcome: null, cacheTier: null, clientIp: null }),
  testEvent(8, { totalMs: 3.4e38, upstreamMs: 1e-30, requestBytes: Number.MAX_SAFE_INTEGER, responseBytes: 0 }),
  testEvent(9, { requestId: 'id\twith\ttabs', ts: Date.UTC(2026, 0, 15, 12, 0, 0, 999) }),
  testEvent(10, { ts: Date.UTC(2026, 0, 15, 12, 0, 1, 0) }),
];

t.test('COPY against real Postgres', { skip: target === null }, async (t) => {
  const base = await target!.open(t, { migrate: true });
  const open = async (): Promise<typeof base> => {
    await base.query('TRUNCATE audit_logs');
    return base;
  };

  t.test('awkward values: COPY writes exactly the rows the INSERT writes, and the INSERT then finds them', async (t) => {
    const db = await open();
    const batch = awkward();
    t.equal(await copyAuditRows(db, batch), batch.length, 'COPY reports every row');
    const copied = (await db.query<Record<string, unknown>>(ROWS)).rows;
    await db.query('TRUNCATE audit_logs');
    t.same(await insertAuditEvents(db, batch), { inserted: batch.length, rejected: [] });
    const inserted = (await db.query<Record<string, unknown>>(ROWS)).rows;
    t.same(copied, inserted, 'identical, field by field');
    const byId = new Map(copied.map((r) => [r['request_id'], r]));
    for (const e of batch) {
      const row = byId.get(e.requestId)!;
      t.same([row['user_agent'], row['path'], row['query'], row['ts']], [e.userAgent, e.path, e.query, e.ts], `${e.requestId} as recorded`);
    }
    // The same events copied after an INSERT: Postgres refuses the whole COPY, nothing doubles.
    await t.rejects(copyAuditRows(db, batch), { code: '23505' }, 'a row already in: the COPY is refused');
    t.equal(await rowCount(db), batch.length);
    await db.query('TRUNCATE audit_logs');
    await copyAuditRows(db, batch);
    t.same(await insertAuditEvents(db, batch), { inserted: 0, rejected: [] }, 'copied rows are the same identities a replay inserts');
  });

  t.test('a batch larger than one encoding chunk goes in as one COPY, whole or not at all', async (t) => {
    const db = switchable(await open());
    const batch = [...events(2_400), ...awkward().map((e) => ({ ...e, requestId: `aw-${e.requestId}` }))];
    t.equal(await copyAuditRows(db, batch), batch.length, 'every row, chunks of 1,000 encoded while the COPY runs');
    t.equal(db.copies(), 1, 'one statement');
    t.equal(await rowCount(db), batch.length);
    const sample = (await db.query<{ user_agent: string }>("SELECT user_agent FROM audit_logs WHERE request_id = 'aw-req-00000001'")).rows;
    t.same(sample, [{ user_agent: 'tab\there' }], 'a value in the last chunk, escaped as in the first');
    await db.query('TRUNCATE audit_logs');
    // A row already in, in the last chunk: Postgres refuses the whole COPY after the first chunks went.
    await insertAuditEvents(db, [testEvent(2_399)]);
    await t.rejects(copyAuditRows(db, events(2_400)), { code: '23505' });
    t.equal(await rowCount(db), 1, 'nothing of the refused COPY is in');
  });

  t.test('an error while encoding a later chunk rolls the COPY back and frees its connection', async (t) => {
    const db = await open();
    const batch = events(2_400);
    Object.defineProperty(batch[1_500], 'userAgent', {
      get() {
        throw new Error('unencodable');
      },
    });
    await t.rejects(copyAuditRows(db, batch), /unencodable/);
    t.equal(await rowCount(db), 0, 'nothing of the first chunk is in');
    t.equal(await copyAuditRows(db, events(10)), 10, 'the pool still copies');
  });

  t.test('the writer copies new batches: one COPY per flush, no INSERT', async (t) => {
    const db = switchable(await open());
    const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
    await writer.start();
    for (const event of [...events(250), ...awkward().map((e) => ({ ...e, requestId: `aw-${e.requestId}` }))]) writer.record(event);
    await writer.flush();
    t.equal(db.copies(), 1, 'all 260 waiting: one COPY');
    t.equal(db.inserts(), 0);
    t.equal(await rowCount(db), 260);
    t.match(writer.stats(), { written: 260, spooled: 0, dropped: 0, rejected: 0 });
  });

  t.test('a batch holding a row already in the table: the COPY is refused and the batch inserted at once', async (t) => {
    const db = switchable(await open());
    await insertAuditEvents(db, [testEvent(5)]);
    const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
    await writer.start();
    // A client reusing its x-request-id within one millisecond does the same.
    for (const event of [...events(10), testEvent(3)]) writer.record(event);
    await writer.flush();
    t.same(db.statements.filter((s) => /^(COPY|INSERT)/.test(s)), ['INSERT INTO audit_logs', 'COPY audit_logs (request_id,', 'INSERT INTO audit_logs']);
    t.equal(await rowCount(db), 10, 'each event once');
    t.match(writer.stats(), { written: 11, spooled: 0, rejected: 0 });
    t.equal(writer.health(), 'ok');
  });

  t.test('an adapter that cannot pass a COPY through: each batch inserted instead, said loudly', async (t) => {
    const base = await open();
    const db: typeof base = {
      ...base,
      // As if the adapter treated every statement as text.
      query: (text, params) => (typeof text === 'string' ? base.query(text, params) : Promise.reject(new TypeError('text.trim is not a function'))),
    };
    const { writer, log } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
    await writer.start();
    for (const event of events(250)) writer.record(event);
    await writer.flush();
    t.equal(await rowCount(base), 250);
    t.match(writer.stats(), { written: 250, spooled: 0 });
    t.equal(log.lines.filter((l) => /COPY failed unexpectedly/.test(l.msg)).length, 1, 'logged, rate-limited');
  });

  t.test('a row Postgres refuses: the COPY is refused, the others inserted, the bad one set aside', async (t) => {
    const db = await open();
    await db.query(`ALTER TABLE audit_logs ADD CONSTRAINT test_no_evil CHECK (path <> '/evil')`);
    t.teardown(() => db.query('ALTER TABLE audit_logs DROP CONSTRAINT test_no_evil'));
    const { writer, spoolDir } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
    await writer.start();
    for (const event of events(20)) writer.record(event.requestId === 'req-00000007' ? { ...event, path: '/evil' } : event);
    await writer.flush();
    t.equal(await rowCount(db), 19);
    t.match(writer.stats(), { written: 20, rejected: 1, spooled: 0 });
    t.match(readFileSync(join(spoolDir, REJECTED_FILE), 'utf8'), /req-00000007/);
  });

  t.test('a COPY given up on that lands later: spooled, replayed with the INSERT, no duplicates', async (t) => {
    const db = switchable(await open());
    const blocker = await base.connect({ poolSize: 1 });
    const { writer } = testWriter(t, db, {
      config: { batchSize: 50, flushIntervalMs: 20 },
      insertTimeoutMs: 200,
      replayIntervalMs: 50,
      stuckMs: 5_000,
    });
    await writer.start();
    // Hold the table so the COPY waits: it is given up on and its batch spooled, but it stays queued in Postgres.
    let release!: () => void;
    const held = blocker.withClient(async (client) => {
      await client.query('BEGIN');
      await client.query('LOCK TABLE audit_logs IN SHARE MODE');
      await new Promise<void>((resolve) => (release = resolve));
      await client.query('COMMIT');
    });
    await waitFor(t, 'lock held', () => release !== undefined);
    for (const event of events(50)) writer.record(event);
    await waitFor(t, 'batch spooled after the timeout', () => writer.stats().spooled === 50);
    t.equal(db.copies(), 1, 'the COPY was sent');
    t.equal(writer.health(), 'spooling');
    release();
    await held;
    await waitFor(t, 'replayed', () => writer.stats().replayed === 50 && writer.stats().spoolPendingRows === 0);
    await waitFor(t, 'ok again', () => writer.health() === 'ok');
    const { rows } = await db.query<{ n: string; d: string }>('SELECT count(*)::int8 AS n, count(DISTINCT request_id)::int8 AS d FROM audit_logs');
    t.same(rows[0], { n: '50', d: '50' }, 'the late COPY and the replay: each row once');
    t.equal(db.insertedIds.length, 100, 'both went through: the COPY landed after all, the replay skipped every row');
  });

  t.test('the COPY connection killed mid-statement: no crash, every event once', async (t) => {
    const db = await open();
    const blocker = await base.connect({ poolSize: 1 });
    const { writer } = testWriter(t, db, { config: { batchSize: 50, flushIntervalMs: 20 }, insertTimeoutMs: 5_000, replayIntervalMs: 50, stuckMs: 1_000 });
    await writer.start();
    let release!: () => void;
    let holder = 0;
    const held = blocker.withClient(async (client) => {
      await client.query('BEGIN');
      await client.query('LOCK TABLE audit_logs IN SHARE MODE');
      holder = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await new Promise<void>((resolve) => (release = resolve));
      await client.query('COMMIT');
    });
    await waitFor(t, 'lock held', () => release !== undefined);
    for (const event of events(50)) writer.record(event);
    const watcher = await base.connect({ poolSize: 1 });
    const copying = async () =>
      (
        await watcher.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)) AND query LIKE 'COPY audit_logs%'`, [
          holder,
        ])
      ).rows;
    await waitFor(t, 'COPY waiting on the lock', async () => (await copying()).length === 1);
    await watcher.query('SELECT pg_terminate_backend($1)', [(await copying())[0]!.pid]);
    release();
    await held;
    await waitFor(t, 'all in', async () => (await rowCount(db)) === 50 && writer.stats().spoolPendingRows === 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { rows } = await db.query<{ n: string; d: string }>('SELECT count(*)::int8 AS n, count(DISTINCT request_id)::int8 AS d FROM audit_logs');
    t.same(rows[0], { n: '50', d: '50' });
    t.equal(writer.stats().dropped, 0);
  });
});
