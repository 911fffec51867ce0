import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { AuditEvent } from '../../../src/audit/events.js';
import { auditRoute, HitRow } from '../../../src/audit/hit-row.js';
import { ensurePartitions } from '../../../src/audit/partitions.js';
import { Spool } from '../../../src/audit/spool.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { insertAuditEvents } from '../../../src/audit/writer.js';
import { databases } from '../../helpers/database.js';
import { rowCount, switchable, tempDir, testEvent, testWriter, waitFor } from './helpers.js';

const events = (n: number, from = 0): AuditEvent[] => Array.from({ length: n }, (_, i) => testEvent(from + i));
const sorted = (ids: string[]): string[] => [...ids].sort();

for (const target of await databases(t)) {
  t.test(`AuditWriter on ${target.name}`, async (t) => {
    // One database per target (opening PGlite costs about a second); every test starts from an empty table.
    const shared = await target.open(t, { migrate: true });
    const open = async (): Promise<typeof shared> => {
      await shared.query('TRUNCATE audit_logs');
      return shared;
    };
    t.test('N events become exactly N rows with every field, in one statement', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
      await writer.start();
      const recorded = events(250);
      for (const event of recorded) writer.record(event);
      await writer.flush();
      t.equal(await rowCount(base), 250);
      if (base.kind === 'postgres') t.equal(db.writes(), 1, 'a flush writes everything waiting with one statement');
      else t.equal(db.writes(), 3, 'PGlite, which runs statements on this thread, keeps to batchSize: 100 + 100 + 50');
      const { rows } = await base.query<Record<string, unknown>>(
        `SELECT request_id, (extract(epoch FROM ts) * 1000)::float8 AS ts, session_id::text AS session_id, user_identifier,
                upstream, method, path, query, action, resource_type, resource_id, status, cache_outcome, cache_tier,
                total_ms::float8 AS total_ms, upstream_ms::float8 AS upstream_ms, request_bytes, response_bytes,
                client_ip, user_agent, error_code
         FROM audit_logs ORDER BY request_id`,
      );
      const expected = recorded.map((e) => ({
        request_id: e.requestId,
        ts: e.ts,
        session_id: e.sessionId,
        user_identifier: e.userIdentifier,
        upstream: e.upstream,
        method: e.method,
        path: e.path,
        query: e.query,
        action: e.action,
        resource_type: e.resourceType,
        resource_id: e.resourceId,
        status: e.status,
        cache_outcome: e.cacheOutcome,
        cache_tier: e.cacheTier,
        total_ms: e.totalMs,
        upstream_ms: e.upstreamMs,
        request_bytes: String(e.requestBytes),
        response_bytes: String(e.responseBytes),
        client_ip: e.clientIp,
        user_agent: e.userAgent,
        error_code: e.errorCode,
      }));
      t.same(rows, expected, 'every field as recorded');
      t.match(writer.stats(), { written: 250, spooled: 0, replayed: 0, dropped: 0, buffered: 0, spoolPendingRows: 0 });
      t.equal(writer.health(), 'ok');
    });

    t.test('a batch is flushed when it reaches batchSize, without waiting for the interval', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 50, flushIntervalMs: 60_000 } });
      await writer.start();
      for (const event of events(50)) writer.record(event);
      t.equal(db.writes(), 0, 'record never writes synchronously');
      await waitFor(t, '50 rows', async () => (await rowCount(base)) === 50, 5_000);
      t.equal(db.writes(), 1);
      for (const event of events(49, 50)) writer.record(event);
      await new Promise((resolve) => setTimeout(resolve, 200));
      t.equal(db.writes(), 1, '49 events wait for the interval');
      t.equal(writer.stats().buffered, 49);
    });

    t.test('events that arrive while a write is in flight go in with the next statement, at most 10,000 to one (batchSize on PGlite)', async (t) => {
      const base = await open();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const held: SqlDatabase = {
        kind: base.kind,
        query: async (text, params) => {
          await gate;
          return base.query(text, params);
        },
        withClient: (fn) => base.withClient(fn),
        poolStats: () => base.poolStats(),
        close: () => base.close(),
      };
      const db = switchable(held);
      const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 }, insertTimeoutMs: 30_000 });
      await writer.start();
      for (const event of events(100)) writer.record(event);
      await waitFor(t, 'the first batch in flight', () => db.writes() === 1);
      for (const event of events(24_900, 100)) writer.record(event);
      t.equal(writer.stats().buffered, 24_900, 'the backlog waits in memory while the write is held');
      release();
      await waitFor(t, 'every row in', async () => (await rowCount(base)) === 25_000, 30_000);
      if (base.kind === 'postgres') t.equal(db.writes(), 4, '100, then the backlog as 10,000 + 10,000 + 4,900');
      else t.equal(db.writes(), 250, 'PGlite: 250 statements of 100');
      t.same(db.insertedIds.length, 25_000);
      t.same(db.insertedIds, events(25_000).map((e) => e.requestId), 'in recording order');
      t.match(writer.stats(), { written: 25_000, spooled: 0, dropped: 0, buffered: 0 });
    });

    t.test('a large batch is normalised 1,000 events per turn of the event loop, so requests run in between', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 5_000, flushIntervalMs: 60_000 } });
      await writer.start();
      for (const event of events(4_999)) writer.record(event);
      const flushed = writer.flush();
      let writesSeenByAnotherTurn = -1;
      setImmediate(() => (writesSeenByAnotherTurn = db.writes()));
      await flushed;
      t.equal(writesSeenByAnotherTurn, 0, 'another callback ran before the batch was ready to send');
      t.equal(db.writes(), 1, 'still one statement');
      t.equal(await rowCount(base), 4_999);
    });

    t.test('a partial batch is flushed after flushIntervalMs', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 1_000, flushIntervalMs: 50 } });
      await writer.start();
      const started = Date.now();
      for (const event of events(10)) writer.record(event);
      await waitFor(t, '10 rows', async () => (await rowCount(base)) === 10, 5_000);
      t.ok(Date.now() - started >= 45, 'not before the interval');
      t.equal(db.writes(), 1, 'one statement for the 10');
    });

    t.test('record never throws and never waits, whatever it is given', async (t) => {
      const base = await open();
      const { writer } = testWriter(t, base);
      await writer.start();
      t.doesNotThrow(() => writer.record({} as AuditEvent));
      t.doesNotThrow(() => writer.record(null as unknown as AuditEvent));
      writer.record(testEvent(1, { sessionId: 'not-a-uuid', path: 'x'.repeat(10_000), status: Number.NaN, totalMs: -3 }));
      await writer.flush();
      const { rows } = await base.query<{ session_id: string | null; n: number; status: number; total_ms: number }>(
        'SELECT session_id, length(path) AS n, status, total_ms FROM audit_logs WHERE request_id = $1',
        ['req-00000001'],
      );
      t.same(rows, [{ session_id: null, n: 2048, status: 0, total_ms: 0 }], 'normalised into an insertable row');
    });

    t.test('memory hit rows land as the events they stand for: copied, inserted, or spooled and replayed', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000, ipAddress: 'truncated' }, replayIntervalMs: 50 });
      await writer.start();
      const route = auditRoute({ upstream: 'salesforce', method: 'GET', path: '/sobjects/Account/001', query: 'fields=Name\tId', action: 'salesforce.sobject.read', resourceType: 'Account', resourceId: '001' });
      const session = '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e';
      const hit = (i: number) => {
        const caller = writer.caller(i % 2 === 0 ? session : null, `user${i % 3}`, '203.0.113.9', i % 5 === 0 ? null : `agent/${i % 2}`);
        return new HitRow(`hit-${String(i).padStart(6, '0')}`, Date.UTC(2026, 0, 15, 12) + i, 200, 0.25 + i / 1000, 2048 + i, route, caller);
      };
      t.equal(writer.caller(session, 'user0', '203.0.113.9', 'a'), writer.caller(session, 'user0', '203.0.113.9', 'a'), 'a caller part is made once');
      t.not(writer.caller(session, 'user0', '203.0.113.9', 'a'), writer.caller(session, 'user0', '203.0.113.9', 'b'), 'and made again when a value changes');
      const recorded = Array.from({ length: 300 }, (_, i) => hit(i));
      const expected = recorded.map((row) => new HitRow(row.requestId, row.ts, row.status, row.totalMs, row.responseBytes, row.route, row.caller).normalise().event());
      for (const row of recorded.slice(0, 200)) writer.record(row);
      await writer.flush();
      if (base.kind === 'postgres') t.equal(db.copies(), 1, 'the first 200 in one COPY');
      db.mode = 'down';
      for (const row of recorded.slice(200)) writer.record(row);
      await writer.flush();
      t.equal(writer.stats().spooled, 100, 'the last 100 spooled while the database is down');
      db.mode = 'up';
      await waitFor(t, 'spool replayed', () => writer.stats().spoolPendingRows === 0 && writer.health() === 'ok');
      const { rows } = await base.query<Record<string, unknown>>(
        `SELECT request_id, (extract(epoch FROM ts) * 1000)::float8 AS ts, session_id::text AS session_id, user_identifier, upstream, method, path,
                query, action, resource_type, resource_id, status, cache_outcome, cache_tier, total_ms::float8 AS total_ms, upstream_ms,
                request_bytes::int AS request_bytes, response_bytes::int AS response_bytes, client_ip, user_agent, error_code
         FROM audit_logs ORDER BY request_id`,
      );
      t.equal(rows.length, 300);
      t.same(
        rows,
        expected.map((e) => ({
          request_id: e.requestId, ts: e.ts, session_id: e.sessionId, user_identifier: e.userIdentifier, upstream: 'salesforce', method: 'GET',
          path: '/sobjects/Account/001', query: 'fields=Name\tId', action: 'salesforce.sobject.read', resource_type: 'Account', resource_id: '001',
          status: 200, cache_outcome: 'HIT', cache_tier: 'memory', total_ms: Math.fround(e.totalMs), upstream_ms: null, request_bytes: 0,
          response_bytes: e.responseBytes, client_ip: '203.0.113.0', user_agent: e.userAgent, error_code: null,
        })),
        'every field as the plain event has it, the address truncated',
      );
    });

    t.test('Postgres down: batches go to the spool, then are replayed in order once it is back', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 20 }, replayIntervalMs: 50, replayBatchSize: 150 });
      await writer.start();
      db.mode = 'down';
      for (let round = 0; round < 10; round++) {
        for (const event of events(100, round * 100)) writer.record(event);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      await waitFor(t, 'all 1000 spooled', () => writer.stats().spooled === 1_000);
      t.equal(await rowCount(base), 0);
      t.equal(writer.health(), 'spooling');
      t.equal(writer.stats().spoolPendingRows, 1_000);
      t.equal(writer.stats().spoolFailing, false);

      db.mode = 'up';
      // Events keep flowing while the spool drains: they must land after the spooled ones.
      for (const event of events(300, 1_000)) writer.record(event);
      await waitFor(t, '1300 rows', async () => (await rowCount(base)) === 1_300);
      await waitFor(t, 'spool drained', () => writer.stats().spoolPendingRows === 0 && writer.health() === 'ok');
      t.same(db.insertedIds, sorted(db.insertedIds), 'inserted in recording order');
      t.equal(db.insertedIds.length, 1_300, 'each event inserted once');
      t.equal(await rowCount(base), 1_300);
      t.equal((await base.query<{ n: string }>('SELECT count(DISTINCT request_id)::int8 AS n FROM audit_logs')).rows[0]!.n, '1300');
      const stats = writer.stats();
      t.equal(stats.written + stats.replayed, 1_300, 'every event written once: directly or by replay');
      t.equal(stats.replayed, stats.spooled);
      t.equal(stats.dropped, 0);

      const before = db.writes();
      for (const event of events(5, 2_000)) writer.record(event);
      await writer.flush();
      t.equal(db.writes(), before + 1, 'back to direct writes');
      t.equal(writer.stats().spoolSegments, 0);
    });

    t.test('a slow insert is given up on after insertTimeoutMs and its batch spooled; replayed later', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 50, flushIntervalMs: 20 }, insertTimeoutMs: 150, replayIntervalMs: 50 });
      await writer.start();
      db.mode = 'hang';
      const started = Date.now();
      for (const event of events(50)) writer.record(event);
      await waitFor(t, 'batch spooled', () => writer.stats().spooled === 50);
      t.ok(Date.now() - started >= 140, 'after the timeout');
      for (const event of events(50, 50)) writer.record(event);
      await waitFor(t, 'next batch spooled without touching the stuck database', () => writer.stats().spooled === 100);
      t.equal(db.writes(), 1, 'no second statement while the first is stuck');
      db.mode = 'up';
      await waitFor(t, '100 rows', async () => (await rowCount(base)) === 100);
      await waitFor(t, 'ok', () => writer.health() === 'ok');
    });

    t.test('memory full while an insert hangs: the buffer spills to the spool at once', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 50, bufferMax: 200, flushIntervalMs: 20 }, insertTimeoutMs: 30_000, replayIntervalMs: 50 });
      await writer.start();
      db.mode = 'hang';
      for (const event of events(50)) writer.record(event);
      await waitFor(t, 'write in flight', () => db.writes() === 1);
      const started = Date.now();
      for (const event of events(200, 50)) writer.record(event);
      await waitFor(t, 'everything spooled', () => writer.stats().spooled === 250);
      t.ok(Date.now() - started < 5_000, 'long before the insert timeout');
      t.equal(writer.stats().dropped, 0);
      db.mode = 'up';
      await waitFor(t, '250 rows', async () => (await rowCount(base)) === 250);
    });

    t.test('replaying the same segment twice still gives N rows', async (t) => {
      const base = await open();
      const dir = join(tempDir(t), 'spool');
      const spool = new Spool({ dir });
      await spool.open();
      await spool.append(events(300));
      await spool.close();
      const [segment] = readdirSync(dir);
      const copy = join(tempDir(t), 'copy.ndjson');
      copyFileSync(join(dir, segment!), copy);

      const first = testWriter(t, base, { spoolDir: dir });
      await first.writer.start();
      await waitFor(t, 'replayed', async () => (await rowCount(base)) === 300 && first.writer.stats().spoolPendingRows === 0);
      await first.writer.close();

      copyFileSync(copy, join(dir, segment!));
      const second = testWriter(t, base, { spoolDir: dir });
      await second.writer.start();
      await waitFor(t, 'replayed again', () => second.writer.stats().spoolPendingRows === 0 && second.writer.stats().replayed === 300);
      t.equal(await rowCount(base), 300, 'no duplicates');
      t.same(await insertAuditEvents(base, events(300)), { inserted: 0, rejected: [] }, 'a third insert adds nothing');
    });

    t.test('a crash-truncated last spool line is skipped and counted', async (t) => {
      const base = await open();
      const dir = join(tempDir(t), 'spool');
      const lines = events(20).map((e) => JSON.stringify(e));
      const torn = JSON.stringify(testEvent(20)).slice(0, 57);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir);
      writeFileSync(join(dir, 'spool-000000000001.ndjson'), `${lines.join('\n')}\n${torn}`);
      const { writer } = testWriter(t, base, { spoolDir: dir });
      await writer.start();
      t.equal(writer.stats().spoolPendingRows, 20, 'complete lines counted at start');
      await waitFor(t, 'replayed', () => writer.stats().spoolPendingRows === 0);
      t.equal(await rowCount(base), 20);
      t.equal(writer.stats().skippedLines, 1);
      t.equal(readdirSync(dir).length, 0, 'segment removed');
    });

    t.test('close() with the database down spools everything; the next process replays it', async (t) => {
      const base = await open();
      const db = switchable(base);
      const first = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
      await first.writer.start();
      db.mode = 'down';
      for (const event of events(1_234)) first.writer.record(event);
      const started = Date.now();
      await first.writer.close(3_000);
      t.ok(Date.now() - started < 3_000, 'close is bounded');
      t.match(first.writer.stats(), { buffered: 0, spooled: 1_234, dropped: 0, spoolPendingRows: 1_234 });

      const second = testWriter(t, base, { spoolDir: first.spoolDir });
      await second.writer.start();
      t.equal(second.writer.stats().spoolPendingRows, 1_234, 'found at start');
      await waitFor(t, 'replayed', async () => (await rowCount(base)) === 1_234 && second.writer.stats().spoolPendingRows === 0);
      t.equal(second.writer.stats().replayed, 1_234);
    });

    t.test('close() with the database hanging gives up in time and spools', async (t) => {
      const base = await open();
      const db = switchable(base);
      const { writer } = testWriter(t, db, { config: { batchSize: 100, flushIntervalMs: 60_000 }, insertTimeoutMs: 10_000 });
      await writer.start();
      db.mode = 'hang';
      for (const event of events(150)) writer.record(event);
      const started = Date.now();
      await writer.close(1_000);
      const took = Date.now() - started;
      t.ok(took < 3_000, `close(1000) took ${took} ms, not the 10 s insert timeout`);
      t.match(writer.stats(), { buffered: 0, spooled: 150, dropped: 0 });
      db.mode = 'up';
    });

    t.test('close() with the database up inserts what is buffered', async (t) => {
      const base = await open();
      const { writer } = testWriter(t, base, { config: { batchSize: 100, flushIntervalMs: 60_000 } });
      await writer.start();
      for (const event of events(321)) writer.record(event);
      await writer.close();
      t.equal(await rowCount(base), 321);
      t.match(writer.stats(), { written: 321, spooled: 0 });
      writer.record(testEvent(999));
      t.equal(writer.stats().dropped, 1, 'an event after close is counted as dropped');
    });

    t.test('the spool cannot be written: failing, logged, events held up to bufferMax then dropped', async (t) => {
      const base = await open();
      const db = switchable(base);
      const file = join(tempDir(t), 'not-a-directory');
      writeFileSync(file, '');
      for (const failClosed of [false, true]) {
        t.test(`failClosed: ${failClosed}`, async (t) => {
          await base.query('DELETE FROM audit_logs');
          const { writer, log } = testWriter(t, db, { spoolDir: join(file, 'spool'), config: { batchSize: 10, bufferMax: 100, flushIntervalMs: 20, failClosed } });
          db.mode = 'down';
          await writer.start();
          t.equal(writer.health(), 'failing', 'the spool directory cannot even be made');
          for (const event of events(150)) writer.record(event);
          t.equal(writer.stats().dropped, 50, 'beyond bufferMax, dropped and counted');
          t.equal(writer.stats().buffered, 100, 'the rest held in memory');
          await new Promise((resolve) => setTimeout(resolve, 100));
          t.equal(writer.health(), 'failing');
          t.equal(writer.stats().spoolFailing, true);
          t.match(writer.stats().lastError, /ENOTDIR|EEXIST|ECONNREFUSED/);
          t.equal(writer.accepting(), !failClosed, failClosed ? 'refuses requests' : 'keeps serving');
          t.ok(log.lines.some((l) => l.level === 'error' && /AUDIT SPOOL CANNOT BE WRITTEN/.test(l.msg)), 'logged loudly');
          t.ok(log.lines.some((l) => l.level === 'error' && /AUDIT EVENTS DROPPED/.test(l.msg)));
          t.ok(log.lines.filter((l) => /AUDIT SPOOL/.test(l.msg)).length <= 2, 'rate-limited');

          db.mode = 'up';
          await waitFor(t, 'held events inserted', async () => (await rowCount(base)) === 100);
          t.equal(writer.health(), 'ok', 'written again: no longer failing');
          t.equal(writer.accepting(), true);
        });
      }
    });

    t.test('with db: null events are spooled, and a later writer with a database replays them', async (t) => {
      const base = await open();
      const first = testWriter(t, null, { config: { flushIntervalMs: 10 } });
      await first.writer.start();
      t.ok(first.log.lines.some((l) => l.level === 'warn' && /no database/.test(l.msg)));
      for (const event of events(40)) first.writer.record(event);
      await waitFor(t, 'spooled', () => first.writer.stats().spooled === 40);
      t.equal(first.writer.health(), 'spooling');
      await first.writer.close();
      const second = testWriter(t, base, { spoolDir: first.spoolDir });
      await second.writer.start();
      await waitFor(t, 'replayed', async () => (await rowCount(base)) === 40);
    });

    t.test('dbReady false (migrations pending): spooled, then replayed once ready', async (t) => {
      const base = await open();
      let ready = false;
      const { writer } = testWriter(t, base, { config: { flushIntervalMs: 10 }, dbReady: () => ready, replayIntervalMs: 30 });
      await writer.start();
      for (const event of events(25)) writer.record(event);
      await waitFor(t, 'spooled', () => writer.stats().spooled === 25);
      t.equal(await rowCount(base), 0);
      ready = true;
      await waitFor(t, 'replayed', async () => (await rowCount(base)) === 25);
    });

    t.test('close() during a replay: the replay stops, the buffer is spooled behind it, the next run finishes', async (t) => {
      const base = await open();
      const dir = join(tempDir(t), 'spool');
      const spool = new Spool({ dir });
      await spool.open();
      for (let i = 0; i < 40_000; i += 2_000) await spool.append(events(2_000, i));
      await spool.close();
      const first = testWriter(t, base, { spoolDir: dir, replayBatchSize: 1_000 });
      await first.writer.start();
      await waitFor(t, 'replay under way', () => first.writer.stats().replayed > 0);
      for (const event of events(10, 100_000)) first.writer.record(event);
      const started = Date.now();
      await first.writer.close(5_000);
      t.ok(Date.now() - started < 5_000, 'close does not run into its timeout waiting for the replay');
      const stats = first.writer.stats();
      t.match(stats, { written: 0, spooled: 10, dropped: 0 }, 'the buffer goes behind the spooled rows, in order');
      t.ok(stats.replayed < 40_000, `replay interrupted after ${stats.replayed} rows`);

      const second = testWriter(t, base, { spoolDir: dir });
      await second.writer.start();
      await waitFor(t, 'the rest replayed', () => second.writer.stats().spoolPendingRows === 0, 60_000);
      t.equal(await rowCount(base), 40_010, 'every row once, the half-replayed segment included');
    });

    t.test('insertAuditEvents: rows Postgres refuses are returned, the others inserted', async (t) => {
      const base = await open();
      const bad = { ...testEvent(2), sessionId: 'not-a-uuid' };
      const result = await insertAuditEvents(base, [testEvent(1), bad, testEvent(3)]);
      t.equal(result.inserted, 2);
      t.same(result.rejected.map((e) => e.requestId), ['req-00000002']);
      t.equal(await rowCount(base), 2);
    });

    t.test('start() runs partition upkeep: partitions ahead created, expired ones dropped', async (t) => {
      const db = await target.open(t, { migrate: true });
      await ensurePartitions(db, Date.UTC(2025, 5, 1), 0);
      const now = Date.UTC(2026, 0, 15);
      const { writer, log } = testWriter(t, db, { now: () => now, maintenanceIntervalMs: 3_600_000, config: { partitionsAheadMonths: 1, retentionDays: 90 } });
      await writer.start();
      const names = async () =>
        (await db.query<{ name: string }>("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_logs'::regclass ORDER BY 1")).rows.map((r) => r.name);
      await waitFor(t, 'upkeep done', async () => (await names()).join() === 'audit_logs_default,audit_logs_y2026m01,audit_logs_y2026m02');
      await waitFor(t, 'logged', () => log.lines.some((l) => /expired partitions dropped/.test(l.msg)));
    });
  });
}
