import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * The small SQL adapter every Postgres user in sidecache goes through (cache tier, migrations,
 * audit). It hides which driver is in use — node-postgres against a server, or embedded PGlite —
 * and irons out their differences, so callers write one dialect and get one result shape:
 *
 * - `bytea` is a `Buffer` (PGlite returns `Uint8Array`);
 * - `int8` is a decimal string on both (pg's default, exact beyond 2^53; PGlite would return a number);
 * - `rowCount` is the rows returned (SELECT) or changed (INSERT/UPDATE/DELETE) by the statement;
 * - with no parameters, `text` may hold several statements (the simple protocol on both drivers);
 *   the result is the last statement's.
 */

export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
}

export interface SqlDatabase extends SqlClient {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn on one dedicated connection (advisory locks, transactions). Do not use the database itself inside fn. */
  withClient<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>;
  /** Connection pool utilisation (PGlite: one connection). */
  poolStats(): { total: number; idle: number; waiting: number; max: number };
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; null = embedded PGlite in `dataDir`. */
  url: string | null;
  /** PGlite keeps its files in `<dataDir>/pglite`; `memory://` keeps them in memory only. */
  dataDir: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Schema search path for every connection (tests isolate themselves in a schema). */
  searchPath?: string;
  /** Errors of idle pooled connections (server restart, network); they never crash the process. */
  onError?: (err: Error) => void;
  /** PGlite only: a `dumpDataDir()` tarball to start from instead of running initdb (tests). */
  pgliteTemplate?: Blob;
}

/** Opens the database: a pg pool when `url` is set, else embedded PGlite. */
export async function openDatabase(options: DatabaseOptions): Promise<SqlDatabase> {
  return options.url === null ? openPGlite(options) : openPostgres(options.url, options);
}

/** Where PGlite keeps its files for a given `dataDir` (`memory://…` stays in memory). */
function pgliteDataDir(dataDir: string): string {
  return dataDir.startsWith('memory://') ? dataDir : join(dataDir, 'pglite');
}

function defaultOnError(err: Error): void {
  process.emitWarning(`idle database connection failed: ${err.message}`, { code: 'SIDECACHE_DB_IDLE_ERROR' });
}

// ---- node-postgres

async function openPostgres(url: string, options: DatabaseOptions): Promise<SqlDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs > 0 ? options.statementTimeoutMs : undefined,
    options: options.searchPath === undefined ? undefined : `-c search_path=${options.searchPath}`,
    application_name: 'sidecache',
  });
  // Without a listener, an idle client's error (server restart, dropped socket) is an uncaught 'error'.
  const onError = options.onError ?? defaultOnError;
  pool.on('error', (err) => onError(err));
  let ended: Promise<void> | undefined;
  const query = (client: pg.Pool | pg.PoolClient) =>
    async function <R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
      const result = (await client.query(text, params === undefined || params.length === 0 ? undefined : [...params])) as
        | pg.QueryResult
        | pg.QueryResult[];
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      return { rows: (last?.rows ?? []) as R[], rowCount: last?.rowCount ?? last?.rows.length ?? 0 };
    };
  return {
    kind: 'postgres',
    query: query(pool),
    async withClient(fn) {
      const client = await pool.connect();
      // A checked-out client has no pool listener: a connection dropped mid-session must fail
      // the session's query, not crash the process with an unhandled 'error'.
      const onError = (err: Error) => options.onError?.(err);
      client.on('error', onError);
      try {
        const result = await fn({ query: query(client) });
        client.off('error', onError);
        client.release();
        return result;
      } catch (err) {
        client.off('error', onError);
        // A session that failed may have left a transaction, a lock or a broken socket behind:
        // destroy the connection rather than hand that state to the next caller.
        client.release(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: options.poolSize }),
    close() {
      ended ??= pool.end();
      return ended;
    },
  };
}

// ---- PGlite

async function openPGlite(options: DatabaseOptions): Promise<SqlDatabase> {
  const dataDir = pgliteDataDir(options.dataDir);
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    // Same as pg: int8 stays a string, so counters past 2^53 stay exact and callers see one type.
    parsers: { [pgliteTypes.INT8]: (value: string) => value },
    ...(options.pgliteTemplate === undefined ? {} : { loadDataDir: options.pgliteTemplate }),
  });
  if (options.searchPath !== undefined) await db.exec(`SET search_path TO ${options.searchPath}`);

  // PGlite is one connection: a withClient session (a transaction, an advisory lock) must not be
  // interleaved with anyone else's statements, so every statement and session queues here.
  let tail: Promise<unknown> = Promise.resolve();
  let busy = false;
  let waiting = 0;
  let closed = false;
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    waiting++;
    const run = tail.then(async () => {
      waiting--;
      busy = true;
      try {
        if (closed) throw new Error('database is closed');
        return await fn();
      } finally {
        busy = false;
      }
    });
    tail = run.catch(() => undefined);
    return run;
  }

  async function run<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    if (params === undefined || params.length === 0) {
      const results = await db.exec(text);
      const last = results[results.length - 1];
      const rows = (last?.rows ?? []) as R[];
      return { rows: rows.map(normaliseRow), rowCount: last?.rowCount ?? last?.affectedRows ?? rows.length };
    }
    const result = await db.query<R>(text, [...params]);
    return { rows: result.rows.map(normaliseRow), rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
  }

  return {
    kind: 'pglite',
    query: (text, params) => exclusive(() => run(text, params)),
    withClient: (fn) =>
      exclusive(async () => {
        try {
          return await fn({ query: run });
        } catch (err) {
          // pg would discard the connection; here the one connection lives on, so end what fn left open.
          if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    poolStats: () => ({ total: 1, idle: busy ? 0 : 1, waiting, max: 1 }),
    async close() {
      await exclusive(async () => {
        closed = true;
        await db.close();
      }).catch((err: unknown) => {
        if (!(err instanceof Error && err.message === 'database is closed')) throw err;
      });
    },
  };
}

/** PGlite returns bytea as Uint8Array; callers get a Buffer (a view, no copy) as from pg. */
function normaliseRow<R>(row: R): R {
  const record = row as Record<string, unknown>;
  for (const name in record) {
    const value = record[name];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
      record[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return row;
}
