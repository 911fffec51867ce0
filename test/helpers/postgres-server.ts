import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from './net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';

/**
 * A private PostgreSQL server: its own data directory (initdb, trust auth, fsync off) and its own
 * free port on 127.0.0.1, run as a child process and stopped by PID, for tests that take the
 * database away under load. The shared server of the other tests (DEVELOPERS.md) is never touched.
 *
 * Postgres refuses to run as root; when the tests run as root (CI containers do), initdb and the
 * server run as the `postgres` user (`spawn`'s uid/gid, no su/runuser in between, so the PID is
 * the postmaster's own).
 */
export interface PostgresServer {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** PID of the running postmaster (-1 while stopped). */
  readonly pid: number;
  /**
   * Stops the server by PID and waits for it to exit. `fast` (SIGINT, the default) ends every
   * session and shuts down cleanly; `immediate` (SIGQUIT) is a crash without a checkpoint.
   * SIGKILL after 5 s either way.
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data directory, and waits until it accepts connections. */
  start(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The directory holding initdb and postgres: on PATH, else the newest /usr/lib/postgresql/<n>/bin. */
function postgresBin(): string | null {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const found = onPath.status === 0 ? onPath.stdout.trim() : '';
  if (found !== '') {
    const realDir = spawnSync('sh', ['-c', `dirname "$(readlink -f "${found}")"`], { encoding: 'utf8' }).stdout.trim();
    if (existsSync(join(realDir, 'postgres'))) return realDir;
  }
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? null : join(base, versions[0]!, 'bin');
}

/** uid/gid to run Postgres as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | null | 'none' {
  if (process.getuid?.() !== 0) return null;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return 'none';
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Why a private server cannot be started here, or null when it can. */
export function postgresServerProblem(): string | null {
  if (postgresBin() === null) return 'initdb/postgres not found (PATH, /usr/lib/postgresql/*/bin)';
  if (runAs() === 'none') return 'running as root and there is no "postgres" user to run the server as';
  return null;
}

/**
 * initdb + postgres on a free port; stopped (SIGINT by PID) and its data directory removed when
 * the test ends. Throws when it cannot be started (see `postgresServerProblem`).
 */
export async function startPostgresServer(t: Test): Promise<PostgresServer> {
  const bin = postgresBin();
  const user = runAs();
  if (bin === null || user === 'none') throw new Error(`cannot start a private PostgreSQL: ${postgresServerProblem()}`);
  const owner = user === null ? {} : user;
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-pg-'));
  if (user !== null) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    ...owner,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal ?? init.error?.message}):\n${init.stderr}`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child !== null) throw new Error(`postgres on port ${port} is already running`);
    let output = '';
    const spawned = spawn(
      join(bin, 'postgres'),
      // The socket directory is the data directory: no clash with a system server's /var/run/postgresql.
      ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', data, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=60', '-c', 'shared_buffers=16MB'],
      { ...owner, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    spawned.stdout!.on('data', collect);
    spawned.stderr!.on('data', collect);
    const failed = new Promise<never>((_, reject) => {
      spawned.once('error', reject);
      spawned.once('exit', (code, signal) => reject(new Error(`postgres exited (${code ?? signal}) while starting:\n${output}`)));
    });
    failed.catch(() => undefined);
    child = spawned;
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    await Promise.race([waitForQuery(port, 20_000), failed]).catch(async (err: unknown) => {
      await stop('immediate');
      throw err;
    });
  };

  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    const current = child;
    if (current === null) return;
    child = null;
    if (current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    process.kill(current.pid!, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    const killer = setTimeout(() => {
      if (current.exitCode === null && current.signalCode === null) process.kill(current.pid!, 'SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(killer);
  };

  t.teardown(async () => {
    await stop('immediate');
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    start,
  };
}


/** Polls `select 1` until the server answers (it accepts connections before it is ready). */
async function waitForQuery(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      last = err;
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`postgres on port ${port} did not answer within ${timeoutMs} ms: ${(last as Error | undefined)?.message}`);
}
