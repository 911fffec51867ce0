import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { MIGRATION_LOCK_KEY, MigrationError, migrate, migrationsDir } from '../../../src/db/migrate.js';
import type { SqlClient } from '../../../src/db/sql.js';
import { databases, postgresOrSkip } from '../../helpers/database.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const REPO_FILES = readdirSync(migrationsDir()).filter((f) => f.endsWith('.sql')).sort();

/** A temporary migrations folder holding `files`, removed when the test ends. */
function migrationsFolder(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-migrations-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

async function recorded(db: SqlClient): Promise<Array<{ version: number; name: string; checksum: string }>> {
  return (await db.query<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM schema_migrations ORDER BY version')).rows;
}

async function tableExists(db: SqlClient, name: string): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [name]);
  return rows[0]?.found !== null;
}

t.test('migrationsDir finds the repository folder', async (t) => {
  t.equal(migrationsDir(), join(ROOT, 'migrations'));
  t.ok(REPO_FILES.includes('0001_api_cache.sql'));
});

t.test('the advisory lock key is a constant signed bigint', async (t) => {
  t.match(MIGRATION_LOCK_KEY, /^-?\d+$/);
  t.equal(MIGRATION_LOCK_KEY, createHash('sha256').update('sidecache:migrate').digest().readBigInt64BE(0).toString());
});

for (const target of await databases(t)) {
  t.test(`migrate on ${target.name}`, async (t) => {
    t.test('a fresh database gets every migration, recorded with its checksum', async (t) => {
      const db = await target.open(t);
      const logged: string[] = [];
      const result = await migrate(db, migrationsDir(), (msg) => logged.push(msg));
      t.same(result, { applied: REPO_FILES, skipped: [] });
      t.same(logged, REPO_FILES.map((f) => `applied migration ${f}`));
      const rows = await recorded(db);
      t.same(
        rows.map((r) => `${String(r.version).padStart(4, '0')}_${r.name}.sql`),
        REPO_FILES,
      );
      for (const [i, row] of rows.entries()) {
        const expected = createHash('sha256').update(readFileSync(join(migrationsDir(), REPO_FILES[i]!))).digest('hex');
        t.equal(row.checksum, expected, `checksum of ${REPO_FILES[i]}`);
      }
      t.ok(await tableExists(db, 'api_cache'), 'api_cache exists');
      t.ok(await tableExists(db, 'sidecache_meta'), 'sidecache_meta exists');
      const { rows: schemas } = await db.query<{ schema: string }>(
        "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'api_cache'",
      );
      // Other test files migrate their own schemas in parallel: check ours, not the count.
      t.ok(schemas.some((row) => row.schema === db.schema), 'in the test schema');
      t.notOk(schemas.some((row) => row.schema === 'public'), 'not in the public schema');
    });

    t.test('the api_cache indexes exist', async (t) => {
      const db = await target.open(t, { migrate: true });
      const { rows } = await db.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'api_cache' AND schemaname = $1 ORDER BY indexname",
        [db.schema],
      );
      const defs = rows.map((r) => r.indexdef).join('\n');
      t.match(defs, /UNIQUE INDEX .* \(cache_key\)/);
      t.match(defs, /USING gin \(tags\)/);
      t.match(defs, /btree \(path text_pattern_ops\)/);
      t.match(defs, /btree \(data_source, path text_pattern_ops\)/);
      t.match(defs, /btree \(stale_until\)/);
    });

    t.test('an up-to-date database gets none', async (t) => {
      const db = await target.open(t, { migrate: true });
      const before = await recorded(db);
      t.same(await migrate(db, migrationsDir()), { applied: [], skipped: REPO_FILES });
      t.same(await recorded(db), before, 'nothing recorded twice');
    });

    t.test('a new file is applied on top of the applied ones', async (t) => {
      const db = await target.open(t);
      const dir = migrationsFolder(t, { '0001_one.sql': 'CREATE TABLE one (a int);' });
      t.same(await migrate(db, dir), { applied: ['0001_one.sql'], skipped: [] });
      writeFileSync(join(dir, '0002_two.sql'), 'CREATE TABLE two (b int);\nINSERT INTO two VALUES (1), (2);');
      t.same(await migrate(db, dir), { applied: ['0002_two.sql'], skipped: ['0001_one.sql'] });
      t.equal((await db.query('SELECT * FROM two')).rowCount, 2, 'several statements in one file');
    });

    t.test('an edited migration is refused', async (t) => {
      const db = await target.open(t);
      const dir = migrationsFolder(t, { '0001_api_cache.sql': 'CREATE TABLE one (a int);' });
      await migrate(db, dir);
      const before = createHash('sha256').update('CREATE TABLE one (a int);').digest('hex');
      writeFileSync(join(dir, '0001_api_cache.sql'), 'CREATE TABLE one (a bigint);');
      const after = createHash('sha256').update('CREATE TABLE one (a bigint);').digest('hex');
      const err = await migrate(db, dir).catch((e: unknown) => e);
      t.type(err, MigrationError);
      t.equal(
        (err as Error).message,
        `migration 0001_api_cache.sql was edited after it was applied (checksum ${after.slice(0, 12)} != recorded ${before.slice(0, 12)}); ` +
          'migrations are forward-only: add a new one instead',
      );
    });

    t.test('a recorded migration whose file is missing is refused', async (t) => {
      const db = await target.open(t);
      const dir = migrationsFolder(t, { '0001_one.sql': 'CREATE TABLE one (a int);', '0002_two.sql': 'CREATE TABLE two (a int);' });
      await migrate(db, dir);
      unlinkSync(join(dir, '0002_two.sql'));
      await t.rejects(migrate(db, dir), { name: 'MigrationError', message: /migration 0002_two\.sql is recorded as applied but its file is missing/ });
    });

    t.test('a failing migration is rolled back, names its file, and stops the run', async (t) => {
      const db = await target.open(t);
      const dir = migrationsFolder(t, {
        '0001_one.sql': 'CREATE TABLE one (a int);',
        '0002_bad.sql': 'CREATE TABLE half (a int);\nSELECT * FROM no_such_table;',
        '0003_three.sql': 'CREATE TABLE three (a int);',
      });
      await t.rejects(migrate(db, dir), { name: 'MigrationError', message: /^migration 0002_bad\.sql failed and was rolled back: .*no_such_table/ });
      t.same((await recorded(db)).map((r) => r.version), [1], 'only the good one is recorded');
      t.ok(await tableExists(db, 'one'));
      t.notOk(await tableExists(db, 'half'), 'the failed file left nothing behind');
      t.notOk(await tableExists(db, 'three'), 'later files did not run');
      writeFileSync(join(dir, '0002_bad.sql'), 'CREATE TABLE half (a int);');
      t.same(await migrate(db, dir), { applied: ['0002_bad.sql', '0003_three.sql'], skipped: ['0001_one.sql'] }, 'fixed, it applies');
    });

    t.test('a new file numbered below an applied one is refused', async (t) => {
      const db = await target.open(t);
      const dir = migrationsFolder(t, { '0001_one.sql': 'SELECT 1;', '0003_three.sql': 'SELECT 3;' });
      await migrate(db, dir);
      writeFileSync(join(dir, '0002_two.sql'), 'SELECT 2;');
      await t.rejects(migrate(db, dir), { name: 'MigrationError', message: /0002_two\.sql is older than the latest applied/ });
    });

    t.test('badly named files are refused before anything runs', async (t) => {
      const db = await target.open(t);
      await t.rejects(migrate(db, migrationsFolder(t, { '1_one.sql': 'SELECT 1;' })), { name: 'MigrationError', message: /1_one\.sql .* NNNN_name\.sql/ });
      await t.rejects(migrate(db, migrationsFolder(t, { '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 1;' })), {
        message: /share version 0001/,
      });
      t.notOk(await tableExists(db, 'schema_migrations'), 'nothing was created');
    });

    t.test('the statement timeout and lock are released afterwards', async (t) => {
      const db = await target.open(t, { migrate: true, poolSize: 1, statementTimeoutMs: 1234 });
      t.same((await db.query('SELECT current_setting($1) AS s', ['statement_timeout'])).rows, [
        { s: db.kind === 'postgres' ? '1234ms' : '0' },
      ]);
      const locks = await db.query("SELECT * FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
      t.equal(locks.rowCount, 0, 'no advisory lock left');
    });

    t.test('concurrent runs apply each migration exactly once', async (t) => {
      const db = await target.open(t);
      // PGlite is one connection: both runs share it, and the adapter serialises them.
      const other = db.kind === 'postgres' ? await db.connect() : db;
      const results = await Promise.all([migrate(db, migrationsDir()), migrate(other, migrationsDir()), migrate(db, migrationsDir())]);
      t.same(results.flatMap((r) => r.applied).sort(), REPO_FILES, 'every file applied by exactly one run');
      for (const r of results) t.same([...r.applied, ...r.skipped].sort(), REPO_FILES);
      t.equal((await recorded(db)).length, REPO_FILES.length);
    });
  });
}

t.test('postgres: a run waits for the advisory lock another session holds', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t);
  const holder = await db.connect();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = holder.withClient(async (client) => {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    locked();
    await released;
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
  });
  await isLocked;
  let done = false;
  const run = migrate(db, migrationsDir()).then((r) => {
    done = true;
    return r;
  });
  await sleep(300);
  t.notOk(done, 'still waiting while the lock is held');
  t.notOk(await tableExists(db, 'api_cache'), 'and nothing applied');
  release();
  await holding;
  t.same((await run).applied, REPO_FILES, 'then it applies');
});

/** Runs `npm run migrate`'s command; resolves its exit code and output. */
function runCli(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/db/migrate-cli.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

t.test('postgres: two migrate processes at once apply each migration exactly once', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t);
  const [a, b] = await Promise.all([runCli({ DATABASE_URL: db.url! }), runCli({ DATABASE_URL: db.url! })]);
  t.equal(a.code, 0, a.output);
  t.equal(b.code, 0, b.output);
  const rows = await recorded(db);
  t.same(
    rows.map((r) => `${String(r.version).padStart(4, '0')}_${r.name}.sql`),
    REPO_FILES,
    'one row per file',
  );
  const appliedLines = [a.output, b.output].map((o) => /applied: (.*)/.exec(o)?.[1] ?? '');
  t.same(
    appliedLines.flatMap((l) => (l === '(none)' ? [] : l.split(', '))).sort(),
    REPO_FILES,
    'the two processes between them applied each file once',
  );
  t.ok(await tableExists(db, 'api_cache'), 'in the schema of the URL');
});

t.test('the CLI migrates the embedded database in DATA_DIR, and says when it is up to date', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sidecache-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATA_DIR: dataDir, DATABASE_URL: '' };
  const first = await runCli(env);
  t.equal(first.code, 0, first.output);
  t.match(first.output, `applied: ${REPO_FILES.join(', ')}`);
  const second = await runCli(env);
  t.equal(second.code, 0, second.output);
  t.match(second.output, 'applied: (none)');
  t.match(second.output, `already applied: ${REPO_FILES.join(', ')}`);
});

t.test('the CLI exits 1 with the reason when the database is unreachable', async (t) => {
  const { code, output } = await runCli({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
  t.equal(code, 1);
  t.match(output, /^migrate failed: .*ECONNREFUSED/m);
});
