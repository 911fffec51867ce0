import t from 'tap';
import { dropExpiredPartitions, ensurePartitions } from '../../../src/audit/partitions.js';
import { insertAuditEvents } from '../../../src/audit/writer.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { databases } from '../../helpers/database.js';
import { rowCount, testEvent } from './helpers.js';

const JAN_15 = Date.UTC(2026, 0, 15, 12);
const DAY = 86_400_000;

async function partitionNames(db: SqlDatabase): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'audit_logs'::regclass ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/** Which partition each request id's row lives in. */
async function placement(db: SqlDatabase): Promise<Record<string, string>> {
  const { rows } = await db.query<{ request_id: string; part: string }>('SELECT request_id, tableoid::regclass::text AS part FROM audit_logs ORDER BY 1');
  return Object.fromEntries(rows.map((r) => [r.request_id, r.part.replace(/^.*\./, '')]));
}

const at = (id: string, ts: number) => testEvent(0, { requestId: id, ts });

for (const target of await databases(t)) {
  t.test(`audit_logs partitions on ${target.name}`, async (t) => {
    t.test('the migration: a range-partitioned table with a default partition, its key and indexes', async (t) => {
      const db = await target.open(t, { migrate: true });
      const { rows } = await db.query<{ strategy: string }>(
        "SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = 'audit_logs'::regclass",
      );
      t.same(rows, [{ strategy: 'r' }], 'range partitioned');
      t.same(await partitionNames(db), ['audit_logs_default']);
      const indexes = await db.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'audit_logs' ORDER BY indexname",
      );
      t.same(
        indexes.rows.map((r) => r.indexname),
        ['audit_logs_action_ts_idx', 'audit_logs_pkey', 'audit_logs_session_ts_idx', 'audit_logs_user_ts_idx'],
        'time (the primary key), session, action and user: nothing more to maintain per row (0007)',
      );
      t.match(indexes.rows.find((r) => r.indexname === 'audit_logs_pkey')?.indexdef, /\(ts, request_id\)/, 'the primary key is the time index');
      // A row with no monthly partition still goes in.
      t.same(await insertAuditEvents(db, [at('early', JAN_15)]), { inserted: 1, rejected: [] });
      t.same(await placement(db), { early: 'audit_logs_default' });
    });

    t.test('ensurePartitions creates this month and the months ahead; idempotent', async (t) => {
      const db = await target.open(t, { migrate: true });
      t.same(await ensurePartitions(db, JAN_15, 2), { created: ['audit_logs_y2026m01', 'audit_logs_y2026m02', 'audit_logs_y2026m03'], movedRows: 0 });
      t.same(await ensurePartitions(db, JAN_15, 2), { created: [], movedRows: 0 }, 'nothing the second time');
      t.same(await ensurePartitions(db, Date.UTC(2026, 1, 1), 2), { created: ['audit_logs_y2026m04'], movedRows: 0 }, 'a month later, one more');
      t.same(await partitionNames(db), ['audit_logs_default', 'audit_logs_y2026m01', 'audit_logs_y2026m02', 'audit_logs_y2026m03', 'audit_logs_y2026m04']);

      await insertAuditEvents(db, [
        at('last-ms-of-jan', Date.UTC(2026, 1, 1) - 1),
        at('first-ms-of-feb', Date.UTC(2026, 1, 1)),
        at('march', Date.UTC(2026, 2, 31, 23)),
        at('may', Date.UTC(2026, 4, 2)),
      ]);
      t.same(await placement(db), {
        'first-ms-of-feb': 'audit_logs_y2026m02',
        'last-ms-of-jan': 'audit_logs_y2026m01',
        march: 'audit_logs_y2026m03',
        may: 'audit_logs_default',
      }, 'UTC month bounds; beyond the last partition, the default one');
      const indexes = await db.query<{ n: string }>("SELECT count(*)::int8 AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'audit_logs_y2026m02'");
      t.equal(indexes.rows[0]!.n, '4', 'every partition carries the indexes');
    });

    t.test('two instances ensuring at once both succeed and create each partition once', async (t) => {
      const db = await target.open(t, { migrate: true });
      const other = target.name === 'postgres' ? await db.connect() : db;
      const results = await Promise.all([ensurePartitions(db, JAN_15, 3), ensurePartitions(other, JAN_15, 3), ensurePartitions(db, JAN_15, 3)]);
      t.same(results.flatMap((r) => r.created).sort(), ['audit_logs_y2026m01', 'audit_logs_y2026m02', 'audit_logs_y2026m03', 'audit_logs_y2026m04']);
      t.equal((await partitionNames(db)).length, 5);
    });

    t.test('rows in the default partition are moved into the partition created for their month', async (t) => {
      const db = await target.open(t, { migrate: true });
      const events = [
        ...Array.from({ length: 30 }, (_, i) => at(`may-${i}`, Date.UTC(2026, 4, 1) + i * 3_600_000)),
        at('nov', Date.UTC(2025, 10, 20)),
        at('june', Date.UTC(2026, 5, 2)),
      ];
      await insertAuditEvents(db, events);
      t.equal(await rowCount(db, "tableoid = 'audit_logs_default'::regclass"), 32, 'all in the default partition first');

      const result = await ensurePartitions(db, Date.UTC(2026, 4, 10), 0);
      t.same(result, { created: ['audit_logs_y2025m11', 'audit_logs_y2026m05', 'audit_logs_y2026m06'], movedRows: 32 });
      t.equal(await rowCount(db, "tableoid = 'audit_logs_default'::regclass"), 0, 'the default partition is empty again');
      const where = await placement(db);
      t.equal(where['may-0'], 'audit_logs_y2026m05');
      t.equal(where['may-29'], 'audit_logs_y2026m05');
      t.equal(where['nov'], 'audit_logs_y2025m11');
      t.equal(where['june'], 'audit_logs_y2026m06');
      t.equal(await rowCount(db), 32, 'nothing lost or doubled');
      t.same(await insertAuditEvents(db, events), { inserted: 0, rejected: [] }, 'the moved rows still deduplicate replays');
      const indexes = await db.query<{ n: string }>("SELECT count(*)::int8 AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'audit_logs_y2026m05'");
      t.equal(indexes.rows[0]!.n, '4', 'an attached partition gets the indexes too');
    });

    t.test('dropExpiredPartitions drops whole partitions past retention, and nothing newer', async (t) => {
      const db = await target.open(t, { migrate: true });
      await ensurePartitions(db, Date.UTC(2025, 8, 10), 5); // 2025-09 .. 2026-02
      await insertAuditEvents(db, [
        at('sep', Date.UTC(2025, 8, 15)),
        at('oct', Date.UTC(2025, 9, 31, 23)),
        at('nov', Date.UTC(2025, 10, 1)),
        at('jan', Date.UTC(2026, 0, 5)),
        at('default-old', Date.UTC(2025, 0, 1)),
        at('default-new', Date.UTC(2026, 6, 1)),
      ]);
      // now = 2026-02-10, 90 days: the cutoff is 2025-11-12, so September and October go; November stays.
      const now = Date.UTC(2026, 1, 10);
      t.same(await dropExpiredPartitions(db, now, 90), ['audit_logs_y2025m09', 'audit_logs_y2025m10']);
      t.same(await dropExpiredPartitions(db, now, 90), [], 'idempotent');
      t.same(Object.keys(await placement(db)).sort(), ['default-new', 'jan', 'nov'], 'older rows are gone with their partitions');
      t.same(await partitionNames(db), ['audit_logs_default', 'audit_logs_y2025m11', 'audit_logs_y2025m12', 'audit_logs_y2026m01', 'audit_logs_y2026m02']);
      t.same(await dropExpiredPartitions(db, now + 20 * DAY, 90), ['audit_logs_y2025m11'], 'a partition goes once its last day is past retention');
      await t.rejects(dropExpiredPartitions(db, now, 0), TypeError);
    });
  });
}
