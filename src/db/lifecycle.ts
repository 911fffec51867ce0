import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseConfig } from '../config/types.js';
import { migrate, migrationsDir } from './migrate.js';
import { openDatabase, type SqlDatabase } from './sql.js';

/** The database with its migration state: usable once `ready()` is true. */
export interface ManagedDatabase {
  readonly db: SqlDatabase;
  /** True once migrations have been applied; until then users must treat the database as down. */
  ready(): boolean;
  /** Resolves when migrations are applied (may be long after start-up if Postgres was down). */
  readonly whenReady: Promise<void>;
  close(): Promise<void>;
}

const MIGRATION_RETRY_MS = 5_000;
/** How long start-up waits for the database before carrying on with it marked down. */
const STARTUP_WAIT_MS = 3_000;

/**
 * Opens Postgres (or the embedded PGlite when no URL is set) and applies migrations. An
 * unreachable Postgres is not fatal: migrations are retried in the background every 5 s and
 * everything that uses the database reports it down meanwhile.
 */
export async function openManagedDatabase(config: DatabaseConfig, log: FastifyBaseLogger): Promise<ManagedDatabase> {
  const db = await openDatabase({ ...config, onError: (err) => log.warn({ err: err.message }, 'idle database connection failed') });
  let migrated = false;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  let resolveReady!: () => void;
  const whenReady = new Promise<void>((resolve) => (resolveReady = resolve));

  const attempt = async (): Promise<void> => {
    try {
      const result = await migrate(db, migrationsDir(), (msg) => log.info(msg));
      migrated = true;
      resolveReady();
      if (result.applied.length > 0) log.info({ applied: result.applied }, 'database migrations applied');
    } catch (err) {
      if (closed) return;
      log.error({ err: (err as Error).message }, `database unavailable; retrying migrations in ${MIGRATION_RETRY_MS / 1000} s`);
      retry = setTimeout(() => void attempt(), MIGRATION_RETRY_MS);
      retry.unref();
    }
  };
  await Promise.race([attempt(), new Promise((resolve) => setTimeout(resolve, STARTUP_WAIT_MS).unref())]);

  return {
    db,
    ready: () => migrated,
    whenReady,
    async close() {
      closed = true;
      clearTimeout(retry);
      await db.close();
    },
  };
}
