import { createHash } from 'node:crypto';
import type { SqlClient, SqlDatabase } from '../db/sql.js';

/**
 * Monthly partitions of `audit_logs` (migrations/0004_audit_logs.sql): `audit_logs_yYYYYmMM`
 * holds [first of the month, first of the next month) in UTC.
 *
 * Rows with no monthly partition land in the DEFAULT partition. Postgres refuses to create a
 * partition whose range the default partition already holds rows for, so `ensurePartitions`
 * moves such rows: it builds the month as a plain table, moves the rows into it from the default
 * partition and attaches it, in one transaction. Normally there is nothing to move — partitions
 * exist months ahead — but it happens on first deployment (rows written before the first
 * maintenance run), when a spool older than every partition is replayed, or when a clock jumps.
 * It also creates a partition for any other month the default partition holds rows of, so the
 * default partition stays empty and creating later partitions stays cheap (Postgres scans the
 * default partition on every create).
 *
 * Several instances may run maintenance at once: every change happens in a transaction under one
 * advisory lock, which re-checks what exists after taking it.
 */

/** pg_advisory_xact_lock key: the first 8 bytes of sha256('sidecache:audit-partitions'). */
const PARTITION_LOCK_KEY = createHash('sha256').update('sidecache:audit-partitions').digest().readBigInt64BE(0).toString();

const PARTITION_NAME = /^audit_logs_y(\d{4})m(\d{2})$/;
const DUPLICATE_TABLE = '42P07';
const DAY_MS = 86_400_000;

const COLUMNS = `request_id, ts, session_id, user_identifier, upstream, method, path, query, action, resource_type,
  resource_id, status, cache_outcome, cache_tier, total_ms, upstream_ms, request_bytes, response_bytes, client_ip,
  user_agent, error_code`;

/** One monthly partition: its table name and UTC bounds (epoch ms, `to` exclusive). */
export interface MonthPartition {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

/** What ensurePartitions did. */
export interface EnsureResult {
  /** Partitions created, in month order. */
  created: string[];
  /** Rows moved out of the default partition into the partitions created. */
  movedRows: number;
}

/** The partition of the UTC month `monthsFrom` months after the one containing `ms`. */
export function monthPartition(ms: number, monthsFrom = 0): MonthPartition {
  const date = new Date(ms);
  const from = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + monthsFrom, 1);
  const start = new Date(from);
  const to = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
  const name = `audit_logs_y${String(start.getUTCFullYear()).padStart(4, '0')}m${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from, to };
}

/** The bounds a partition name stands for, or null when the name is not a monthly partition's. */
export function parsePartitionName(name: string): MonthPartition | null {
  const match = PARTITION_NAME.exec(name);
  if (match === null) return null;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return null;
  return monthPartition(Date.UTC(Number(match[1]), month - 1, 1));
}

/**
 * Creates the partitions of the month containing `now` and of the `monthsAhead` months after it,
 * plus those of any month the default partition holds rows for, moving those rows in. Idempotent
 * and safe to run from several instances at once.
 */
export async function ensurePartitions(db: SqlDatabase, now: number, monthsAhead: number): Promise<EnsureResult> {
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0) throw new TypeError(`ensurePartitions: monthsAhead must be a non-negative integer, got ${monthsAhead}`);
  const wanted = new Map<string, MonthPartition>();
  for (let i = 0; i <= monthsAhead; i++) {
    const month = monthPartition(now, i);
    wanted.set(month.name, month);
  }
  const { partitions, defaultPartition } = await listPartitions(db);
  if (defaultPartition !== null) {
    const { rows } = await db.query<{ month_ms: number }>(
      `SELECT DISTINCT (extract(epoch FROM date_trunc('month', ts AT TIME ZONE 'UTC')) * 1000)::float8 AS month_ms FROM ${quoteIdent(defaultPartition)}`,
    );
    for (const row of rows) {
      const month = monthPartition(row.month_ms);
      wanted.set(month.name, month);
    }
  }
  const missing = [...wanted.values()].filter((m) => !partitions.has(m.name)).sort((a, b) => a.from - b.from);
  const result: EnsureResult = { created: [], movedRows: 0 };
  for (const month of missing) {
    const moved = await db
      .withClient((client) => transaction(client, () => createPartition(client, month)))
      // Created meanwhile by something that does not take the lock (an operator, another tool): fine.
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code === DUPLICATE_TABLE) return null;
        throw err;
      });
    if (moved === null) continue;
    result.created.push(month.name);
    result.movedRows += moved;
  }
  return result;
}

/**
 * Drops the monthly partitions whose whole range is older than `retentionDays` before `now`
 * (upper bound <= now - retentionDays), and deletes rows that old from the default partition.
 * Only whole partitions go, so a row lives between retentionDays and retentionDays + one month
 * (plus the interval between maintenance runs). Resolves the names of the partitions dropped.
 */
export async function dropExpiredPartitions(db: SqlDatabase, now: number, retentionDays: number): Promise<string[]> {
  if (!(retentionDays > 0)) throw new TypeError(`dropExpiredPartitions: retentionDays must be positive, got ${retentionDays}`);
  const cutoff = now - retentionDays * DAY_MS;
  const { partitions, defaultPartition } = await listPartitions(db);
  const expired = [...partitions.values()].filter((p) => p.to <= cutoff).sort((a, b) => a.from - b.from);
  const dropped: string[] = [];
  for (const partition of expired) {
    const done = await db.withClient((client) =>
      transaction(client, async () => {
        // DROP needs an ACCESS EXCLUSIVE lock on audit_logs: give up rather than stall writers behind it.
        await client.query(`SET LOCAL lock_timeout = '5s'`);
        const { rows } = await client.query<{ name: string }>(`${PARTITIONS_SQL} AND c.relname = $1`, [partition.name]);
        if (rows.length === 0) return false;
        await client.query(`DROP TABLE ${quoteIdent(partition.name)}`);
        return true;
      }),
    );
    if (done) dropped.push(partition.name);
  }
  if (defaultPartition !== null) {
    await db.query(`DELETE FROM ${quoteIdent(defaultPartition)} WHERE ts < to_timestamp($1::float8 / 1000)`, [cutoff]);
  }
  return dropped;
}

// ---- internals

const PARTITIONS_SQL = `
  SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'audit_logs'::regclass`;

/** The monthly partitions of audit_logs (by name) and the default partition's name. */
async function listPartitions(db: SqlClient): Promise<{ partitions: Map<string, MonthPartition>; defaultPartition: string | null }> {
  const { rows } = await db.query<{ name: string; is_default: boolean }>(PARTITIONS_SQL);
  const partitions = new Map<string, MonthPartition>();
  let defaultPartition: string | null = null;
  for (const row of rows) {
    if (row.is_default) defaultPartition = row.name;
    const month = parsePartitionName(row.name);
    if (month !== null) partitions.set(row.name, month);
  }
  return { partitions, defaultPartition };
}

/**
 * Creates one month's partition under the advisory lock; resolves the rows moved out of the
 * default partition, or null when another instance created it first.
 */
async function createPartition(client: SqlClient, month: MonthPartition): Promise<number | null> {
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK_KEY]);
  const { partitions, defaultPartition } = await listPartitions(client);
  if (partitions.has(month.name)) return null;
  const from = new Date(month.from).toISOString();
  const to = new Date(month.to).toISOString();
  const bounds = `FOR VALUES FROM ('${from}') TO ('${to}')`;
  const name = quoteIdent(month.name);
  if (defaultPartition === null) {
    await client.query(`CREATE TABLE ${name} PARTITION OF audit_logs ${bounds}`);
    return 0;
  }
  const defaultName = quoteIdent(defaultPartition);
  // Writers into the default partition wait until the move commits (then Postgres routes their rows, or
  // refuses them as outside the default partition's new range: the writer retries those rows).
  await client.query(`LOCK TABLE ${defaultName} IN EXCLUSIVE MODE`);
  const range = [from, to];
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*)::int8 AS n FROM ${defaultName} WHERE ts >= $1::timestamptz AND ts < $2::timestamptz`,
    range,
  );
  const held = Number(rows[0]?.n ?? 0);
  if (held === 0) {
    await client.query(`CREATE TABLE ${name} PARTITION OF audit_logs ${bounds}`);
    return 0;
  }
  // Build the month as a plain table holding the rows, then attach it (which adds the indexes).
  await client.query(`CREATE TABLE ${name} (LIKE audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  const moved = await client.query(
    `WITH moved AS (DELETE FROM ${defaultName} WHERE ts >= $1::timestamptz AND ts < $2::timestamptz RETURNING ${COLUMNS})
     INSERT INTO ${name} (${COLUMNS}) SELECT ${COLUMNS} FROM moved`,
    range,
  );
  await client.query(`ALTER TABLE audit_logs ATTACH PARTITION ${name} ${bounds}`);
  return moved.rowCount;
}

async function transaction<T>(client: SqlClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
