import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Redis, type Cluster } from 'ioredis';
import type { SharedRedis } from '../../src/redis/client.js';
import { CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import type { Test } from 'tap';
import { freePort } from './net.js';
import { missingService } from './services.js';

/** The Redis the tests share (DEVELOPERS.md): `REDIS_URL_TEST`, default `redis://127.0.0.1:6379`. */
export const REDIS_URL = process.env['REDIS_URL_TEST'] || 'redis://127.0.0.1:6379';

let reachable: Promise<string | null> | undefined;

/** Resolves null when Redis answers PING, else why not. Asked once per test process. */
function redisProblem(): Promise<string | null> {
  reachable ??= (async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1_000, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    let cause: Error | undefined;
    probe.on('error', (err: Error) => {
      cause ??= err;
    });
    try {
      await probe.connect();
      await probe.ping();
      return null;
    } catch (err) {
      return (cause ?? (err as Error)).message;
    } finally {
      probe.disconnect();
    }
  })();
  return reachable;
}

/**
 * A reachable Redis and a random namespace of its own, whose keys are deleted (SCAN + UNLINK)
 * when the test ends. When Redis does not answer: with `REQUIRE_SERVICES=1` the test fails;
 * otherwise it is skipped, loudly, and this resolves null (return early from the test).
 */
export async function redisOrSkip(t: Test): Promise<{ url: string; namespace: string } | null> {
  const problem = await redisProblem();
  if (problem !== null) {
    missingService(t, {
      message: `Redis at ${REDIS_URL} is unreachable (${problem})`,
      skipped: 'Redis tests SKIPPED. This run has NOT tested the Redis tier.',
      label: 'redis tests',
    });
    return null;
  }
  const namespace = `test-${randomBytes(8).toString('hex')}`;
  t.teardown(() => deleteNamespace(REDIS_URL, namespace));
  return { url: REDIS_URL, namespace };
}

/** Deletes every `sidecache:<namespace>:*` key with SCAN + UNLINK (never KEYS). */
export async function deleteNamespace(url: string, namespace: string): Promise<number> {
  const client = new Redis(url, { connectTimeout: 2_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `sidecache:${namespace}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** A private redis-server child process on its own port. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** PID of the current process (changes after stop() + start()). */
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 2 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  start(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs `redis-server --port <free port> --save "" --appendonly no --bind 127.0.0.1`, stopped by
 * PID when the test ends. Throws when redis-server is not installed (see `redisServerOrSkip`).
 */
export async function startRedisServer(t: Test): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== null) throw new Error(`redis-server on port ${port} is already running`);
    output = '';
    const spawned = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    spawned.stdout!.on('data', collect);
    spawned.stderr!.on('data', collect);
    const failed = new Promise<never>((_, reject) => {
      spawned.once('error', reject);
      spawned.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) while starting:\n${output}`)));
    });
    failed.catch(() => undefined);
    child = spawned;
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    await Promise.race([waitForPong(port, 10_000), failed]).catch(async (err: unknown) => {
      await stop();
      throw err;
    });
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (current === null) return;
    child = null;
    if (current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    process.kill(current.pid!, 'SIGTERM');
    const killer = setTimeout(() => {
      if (current.exitCode === null && current.signalCode === null) process.kill(current.pid!, 'SIGKILL');
    }, 2_000);
    await exited;
    clearTimeout(killer);
  };

  await start();
  t.teardown(stop);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    start,
  };
}

/** `startRedisServer`, except that a missing redis-server binary skips (or, with REQUIRE_SERVICES=1, fails) the test. */
export async function redisServerOrSkip(t: Test): Promise<RedisServer | null> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error !== undefined) {
    missingService(t, { message: 'redis-server is not installed', skipped: 'Redis failure tests SKIPPED.', label: 'redis-server tests' });
    return null;
  }
  return startRedisServer(t);
}


/** Polls with a raw RESP PING until the server answers +PONG. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pingOnce(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/** A client with a breaker of its own, in the shape the app shares its one Redis in (`SharedRedis`). */
export function sharedRedis(client: Redis | Cluster): SharedRedis {
  return { client, breaker: new CircuitBreaker({ failureThreshold: 3, cooldownMs: 5_000 }) };
}
