import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlClient, SqlDatabase } from './sql.js';

/**
 * Forward-only SQL migrations: `migrations/NNNN_name.sql`, applied in order, each in its own
 * transaction, recorded with a sha256 checksum in `schema_migrations`. Every runner takes one
 * advisory lock first, so several sidecache instances starting together apply each file once.
 */

/** Thrown when the migrations cannot be applied as they are; the message says what to do. */
export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrateResult {
  /** Files applied by this call, in order. */
  applied: string[];
  /** Files that were already applied. */
  skipped: string[];
}

/** pg_advisory_lock key: the first 8 bytes of sha256('sidecache:migrate') as a signed bigint. */
export const MIGRATION_LOCK_KEY = createHash('sha256').update('sidecache:migrate').digest().readBigInt64BE(0).toString();

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The repository's `migrations/` folder, found from this module (src/db via tsx, dist/src/db when built). */
export function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'migrations')) && existsSync(join(dir, 'package.json'))) return join(dir, 'migrations');
    const parent = dirname(dir);
    if (parent === dir) throw new MigrationError(`no migrations/ folder found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Reads and checks `NNNN_name.sql` files in version order. */
async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: MigrationFile[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (match === null) throw new MigrationError(`migration file ${file} in ${dir} is not named NNNN_name.sql (lower-case name)`);
    const version = Number(match[1]);
    const previous = migrations[migrations.length - 1];
    if (previous !== undefined && previous.version === version) {
      throw new MigrationError(`migrations ${previous.file} and ${file} share version ${match[1]}`);
    }
    const bytes = await readFile(join(dir, file));
    const checksum = createHash('sha256').update(bytes).digest('hex');
    migrations.push({ version, name: match[2]!, file, sql: bytes.toString('utf8'), checksum });
  }
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/** Applies every migration in `dir` that the database has not recorded yet. */
export async function migrate(db: SqlDatabase, dir: string, log: (msg: string) => void = () => {}): Promise<MigrateResult> {
  const migrations = await readMigrations(dir);
  return db.withClient(async (client) => {
    // A long migration must not hit the pool's statement_timeout, and neither must waiting for
    // another instance that holds the lock. Session settings are reset before the client goes back.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    let failed = false;
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
      const pending = checkApplied(migrations, rows, dir);
      const applied: string[] = [];
      for (const migration of pending) {
        await apply(client, migration);
        log(`applied migration ${migration.file}`);
        applied.push(migration.file);
      }
      const skipped = migrations.filter((m) => !pending.includes(m)).map((m) => m.file);
      return { applied, skipped };
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      // After a failure the connection is discarded (which also drops the lock): keep the first error.
      const release = async (): Promise<void> => {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
        await client.query('RESET statement_timeout');
      };
      if (failed) await release().catch(() => undefined);
      else await release();
    }
  });
}

/** Refuses edited, missing or out-of-order migrations; returns the ones still to apply. */
function checkApplied(migrations: readonly MigrationFile[], rows: readonly AppliedRow[], dir: string): MigrationFile[] {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  let latest = -1;
  for (const row of rows) {
    const migration = byVersion.get(row.version);
    const label = `${String(row.version).padStart(4, '0')}_${row.name}.sql`;
    if (migration === undefined) {
      throw new MigrationError(
        `migration ${label} is recorded as applied but its file is missing from ${dir}; ` +
          'this sidecache is older than its database, or the file was deleted: restore it',
      );
    }
    if (migration.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${migration.file} was edited after it was applied (checksum ${migration.checksum.slice(0, 12)} != recorded ${row.checksum.slice(0, 12)}); ` +
          'migrations are forward-only: add a new one instead',
      );
    }
    latest = Math.max(latest, row.version);
  }
  const recorded = new Set(rows.map((r) => r.version));
  const pending = migrations.filter((m) => !recorded.has(m.version));
  const early = pending.find((m) => m.version < latest);
  if (early !== undefined) {
    throw new MigrationError(
      `migration ${early.file} is older than the latest applied one (version ${latest}); ` +
        'migrations are forward-only: give it a number after the latest',
    );
  }
  return pending;
}

async function apply(client: SqlClient, migration: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(`migration ${migration.file} failed and was rolled back: ${(err as Error).message}`, { cause: err });
  }
}
