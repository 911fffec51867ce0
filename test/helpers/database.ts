import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Test } from 'tap';
import { migrate, migrationsDir } from '../../src/db/migrate.js';
import { openDatabase, type DatabaseOptions, type SqlDatabase } from '../../src/db/sql.js';

/**
 * Databases for tests, real and embedded. Every test gets an isolated, empty schema of its own
 * (`sc_test_<random>`), dropped when the test ends, so test files can run in parallel against
 * one server:
 *
 *   for (const target of await databases(t)) {
 *     t.test(target.name, async (t) => {
 *       const db = await target.open(t, { migrate: true });
 *       ...
 *     });
 *   }
 *
 * The real server is `DATABASE_URL_TEST` (DEVELOPERS.md). When it does not answer, its variant
 * is skipped loudly — or, with `REQUIRE_SERVICES=1`, fails. The PGlite variant always runs.
 */

export const DATABASE_URL_TEST = process.env['DATABASE_URL_TEST'] || 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE_SERVICES = process.env['REQUIRE_SERVICES'] === '1';

export type DatabaseKind = 'postgres' | 'pglite';

/** An isolated test database: an SqlDatabase whose search_path is a fresh schema. */
export interface TestDatabase extends SqlDatabase {
  readonly schema: string;
  /** postgres: a URL that connects into the schema (for child processes); pglite: null. */
  readonly url: string | null;
  /** postgres: another, independent pool on the same schema, closed with the test; pglite: throws (one connection). */
  connect(options?: { poolSize?: number }): Promise<SqlDatabase>;
}

export interface OpenOptions {
  /** Apply the repository's migrations first. */
  migrate?: boolean;
  poolSize?: number;
  statementTimeoutMs?: number;
}

export interface DatabaseTarget {
  readonly name: DatabaseKind;
  /** A fresh, empty schema, closed and dropped when `t` ends. */
  open(t: Test, options?: OpenOptions): Promise<TestDatabase>;
}

/** The database targets this run can test: PGlite always, the real server when it answers. */
export async function databases(t: Test): Promise<DatabaseTarget[]> {
  const targets: DatabaseTarget[] = [];
  const problem = await postgresProblem();
  if (problem === null) targets.push({ name: 'postgres', open: openPostgresSchema });
  else skipNotice(t, `PostgreSQL at ${redact(DATABASE_URL_TEST)} is unreachable (${problem})`);
  targets.push({ name: 'pglite', open: openPGliteSchema });
  return targets;
}

/** The real-server target alone, or null when it is unreachable (skipped loudly, or failed with REQUIRE_SERVICES=1). */
export async function postgresOrSkip(t: Test): Promise<DatabaseTarget | null> {
  const problem = await postgresProblem();
  if (problem === null) return { name: 'postgres', open: openPostgresSchema };
  const message = `PostgreSQL at ${redact(DATABASE_URL_TEST)} is unreachable (${problem})`;
  skipNotice(t, message);
  if (!REQUIRE_SERVICES) t.pass('real-PostgreSQL test', { skip: message });
  return null;
}

/** The embedded target alone (always available). */
export const pglite: DatabaseTarget = { name: 'pglite', open: (t, options) => openPGliteSchema(t, options) };

/** Options for `openDatabase` with test-friendly defaults. */
export function testDatabaseOptions(overrides: Partial<DatabaseOptions> = {}): DatabaseOptions {
  return { url: null, dataDir: 'memory://', poolSize: 4, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000, ...overrides };
}

let warned = false;

function skipNotice(t: Test, message: string): void {
  if (REQUIRE_SERVICES) {
    t.fail(`${message} and REQUIRE_SERVICES=1`);
    return;
  }
  const notice = `!!! ${message}: real-PostgreSQL tests SKIPPED, PGlite only. Set REQUIRE_SERVICES=1 to make this a failure.`;
  if (!warned) console.warn(notice);
  warned = true;
  t.comment(notice);
}

let reachable: Promise<string | null> | undefined;

/** Resolves null when the server answers `select 1`, else why not. Asked once per test process. */
function postgresProblem(): Promise<string | null> {
  reachable ??= (async () => {
    let db: SqlDatabase | undefined;
    try {
      db = await openDatabase(testDatabaseOptions({ url: DATABASE_URL_TEST, poolSize: 1, connectTimeoutMs: 2_000, onError: () => {} }));
      await db.query('select 1');
      return null;
    } catch (err) {
      return (err as Error).message || String(err);
    } finally {
      await db?.close().catch(() => undefined);
    }
  })();
  return reachable;
}

function schemaName(): string {
  return `sc_test_${randomBytes(6).toString('hex')}`;
}

async function openPostgresSchema(t: Test, options: OpenOptions = {}): Promise<TestDatabase> {
  const schema = schemaName();
  const admin = await openDatabase(testDatabaseOptions({ url: DATABASE_URL_TEST, poolSize: 1 }));
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pools: SqlDatabase[] = [];
  const connect = async (connectOptions: { poolSize?: number } = {}): Promise<SqlDatabase> => {
    const db = await openDatabase(
      testDatabaseOptions({
        url: DATABASE_URL_TEST,
        searchPath: schema,
        poolSize: connectOptions.poolSize ?? options.poolSize ?? 4,
        statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
      }),
    );
    pools.push(db);
    return db;
  };
  t.teardown(async () => {
    await Promise.all(pools.map((db) => db.close().catch(() => undefined)));
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  });
  const db = await connect();
  const separator = DATABASE_URL_TEST.includes('?') ? '&' : '?';
  const url = `${DATABASE_URL_TEST}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const testDb = testDatabase(db, { schema, url, connect });
  if (options.migrate) await migrate(testDb, migrationsDir());
  return testDb;
}

async function openPGliteSchema(t: Test, options: OpenOptions = {}): Promise<TestDatabase> {
  const schema = schemaName();
  const db = await openDatabase(testDatabaseOptions({ searchPath: schema, pgliteTemplate: await pgliteTemplate() }));
  t.teardown(() => db.close());
  await db.query(`CREATE SCHEMA ${schema}`);
  const connect = async (): Promise<SqlDatabase> => {
    throw new Error('PGlite is one connection: connect() is for the postgres target only');
  };
  const testDb = testDatabase(db, { schema, url: null, connect });
  if (options.migrate) await migrate(testDb, migrationsDir());
  return testDb;
}

let template: Promise<Blob> | undefined;

/**
 * A freshly initialised PGlite data directory as a tarball. PGlite runs initdb on every
 * `create()` (5-15 s here); starting from this template takes about one second. It is cached
 * per process, and on disk per PGlite version so that test files after the first skip initdb.
 */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const manifest = new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url);
    const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
    const path = join(tmpdir(), `sidecache-pglite-template-${version}.tar`);
    if (existsSync(path)) return new Blob([await readFile(path)]);
    const db = await PGlite.create('memory://');
    const blob = await db.dumpDataDir('none');
    await db.close();
    // Written aside and renamed, so a parallel test file never reads half a template.
    const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(partial, Buffer.from(await blob.arrayBuffer()));
    await rename(partial, path);
    return blob;
  })();
  return template;
}

function testDatabase(db: SqlDatabase, extra: Pick<TestDatabase, 'schema' | 'url' | 'connect'>): TestDatabase {
  return {
    kind: db.kind,
    query: (text, params) => db.query(text, params),
    withClient: (fn) => db.withClient(fn),
    poolStats: () => db.poolStats(),
    close: () => db.close(),
    ...extra,
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
