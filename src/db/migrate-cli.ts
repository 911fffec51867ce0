/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite
 * database in DATA_DIR (default ./data) when DATABASE_URL is unset. Exit status 1 on error.
 */
import { migrate, migrationsDir } from './migrate.js';
import { openDatabase } from './sql.js';

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL']?.trim() || null;
  const dataDir = process.env['DATA_DIR']?.trim() || './data';
  const db = await openDatabase({ url, dataDir, poolSize: 1, statementTimeoutMs: 0, connectTimeoutMs: 10_000 });
  try {
    const where = url === null ? `embedded database in ${dataDir}` : 'DATABASE_URL';
    const result = await migrate(db, migrationsDir());
    process.stdout.write(
      `migrations on ${where}\n` +
        `  applied: ${result.applied.join(', ') || '(none)'}\n` +
        `  already applied: ${result.skipped.join(', ') || '(none)'}\n`,
    );
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(`migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
