import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { spawnProcess, stopChild, type Child } from './children.js';
import { freePort } from './net.js';

/**
 * The machine's Postgres and Redis, used without touching anyone else's data: a fresh schema per
 * scenario in the `test` database (every connection's search_path points at it) and a random
 * Redis namespace; both removed when the scenario ends. A redis-server child of our own for the
 * outage scenario. Cleanups are also registered, so the watchdog in run.ts can run them.
 */

export const POSTGRES_URL = process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env['BENCH_REDIS_URL'] || 'redis://127.0.0.1:6379';
/** The machine's Postgres and Redis processes: their CPU is what a full child's tiers and audit cost outside it. */
export const SERVICE_PROCESSES = ['postgres', 'redis-server'] as const;
/** A session token and user, as scenario 1 sends its full child (src/sessions: `x-session-token`, `x-user-id`). */
export const SESSION_HEADERS = { 'x-session-token': 'bench-session-token-0001', 'x-user-id': 'bench-user' } as const;

const pendingCleanups = new Set<() => Promise<void>>();

function register(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  const once = () => {
    done ??= cleanup().finally(() => pendingCleanups.delete(once));
    return done;
  };
  pendingCleanups.add(once);
  return once;
}

/** Runs every cleanup not run yet (schemas, Redis keys, temp dirs), for at most `timeoutMs`. */
export async function runPendingCleanups(timeoutMs = 10_000): Promise<void> {
  const all = Promise.allSettled([...pendingCleanups].map((cleanup) => cleanup()));
  await Promise.race([all, sleep(timeoutMs)]);
}

export const randomSuffix = (): string => randomBytes(4).toString('hex');

/** A fresh schema `bench_<random>` in the test database; `url` connects into it. */
export interface BenchSchema {
  readonly schema: string;
  /** The database URL with `options=-c search_path=<schema>`, for sidecache children. */
  readonly url: string;
  /** A small pool of our own, connected into the schema. */
  readonly pool: pg.Pool;
  count(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Closes the pool and drops the schema (CASCADE). */
  drop(): Promise<void>;
}

export async function createBenchSchema(): Promise<BenchSchema> {
  const schema = `bench_${randomSuffix()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const separator = POSTGRES_URL.includes('?') ? '&' : '?';
  const url = `${POSTGRES_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000, statement_timeout: 30_000 });
  pool.on('error', () => undefined);
  const drop = register(async () => {
    await pool.end().catch(() => undefined);
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      // Children are stopped by now; should a connection still hold a lock, give up rather than hang.
      await client.query(`SET lock_timeout = '10s'`);
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });
  return {
    schema,
    url,
    pool,
    async count(sql, params) {
      const { rows } = await pool.query<{ n: string | number }>(sql, params === undefined ? undefined : [...params]);
      return Number(rows[0]?.n ?? 0);
    },
    drop,
  };
}

/** A random sidecache namespace on the shared Redis; `cleanup` deletes its keys (SCAN + UNLINK, never KEYS). */
export function redisNamespace(url = REDIS_URL): { namespace: string; cleanup: () => Promise<number> } {
  const namespace = `bench_${randomSuffix()}`;
  let deleted = 0;
  const cleanup = register(async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      let cursor = '0';
      let rounds = 0;
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `sidecache:${namespace}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await client.unlink(...keys);
        rounds += 1;
      } while (cursor !== '0' && rounds < 100_000);
    } finally {
      client.disconnect();
    }
  });
  return { namespace, cleanup: async () => (await cleanup(), deleted) };
}

/** Resolves true once something on 127.0.0.1:port answers PING with +PONG. */
async function redisPings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** A redis-server child of our own (no persistence, loopback only), stopped and started by PID. */
export class OwnRedis {
  readonly port: number;
  readonly #dir: string;
  #child: Child | null = null;

  private constructor(port: number) {
    this.port = port;
    this.#dir = mkdtempSync(join(tmpdir(), 'sidecache-bench-redis-'));
    register(async () => {
      await this.stop();
      rmSync(this.#dir, { recursive: true, force: true });
    });
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on the same port and waits (at most 10 s) until it answers PING. */
  async start(): Promise<void> {
    if (this.#child !== null) return;
    const child = spawnProcess('redis-server', {
      name: `redis-${this.port}`,
      args: ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, '--loglevel', 'warning'],
    });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.process.exitCode !== null) throw new Error(`redis-server exited: ${child.stderrTail()}`);
      if (await redisPings(this.port)) return;
      await sleep(25);
    }
    throw new Error(`redis-server on ${this.port} did not answer PING within 10 s`);
  }

  /** SIGTERM by PID (SIGKILL after 5 s); resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child !== null) await stopChild(child);
  }
}

/** A temp directory removed by `remove()` (or by the watchdog's cleanup). */
export function tempDir(prefix: string): { path: string; remove: () => Promise<void> } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = register(async () => rmSync(path, { recursive: true, force: true }));
  return { path, remove };
}

/**
 * What makes a sidecache child "full" as scenario 1 runs it: the Redis and Postgres tiers (a
 * fresh schema and key namespace, both removed at the end of the run) and, unless turned off,
 * the audit trail to that Postgres; for `startSidecache`.
 */
export async function fullTiers(audit = true): Promise<{ redisUrl: string; databaseUrl: string; namespace: string; audit: { enabled: boolean }; dataDir: string }> {
  return {
    redisUrl: REDIS_URL,
    databaseUrl: (await createBenchSchema()).url,
    namespace: redisNamespace().namespace,
    audit: { enabled: audit },
    dataDir: tempDir('sidecache-bench-full-').path,
  };
}
