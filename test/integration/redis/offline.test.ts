import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import type { Cluster, Redis } from 'ioredis';
import { createRedisClient, waitForReady } from '../../../src/redis/client.js';
import { redisServerOrSkip } from '../../helpers/redis.js';

const FAST_MS = 200;

/** A client that logs into `logs`, disconnected at the end of the test. */
function client(t: Test, url: string, logs: object[] = []): Redis | Cluster {
  const c = createRedisClient(url, { connectTimeoutMs: 1_000, name: 'offline-test', log: (obj) => logs.push(obj), errorLogIntervalMs: 60_000 });
  t.teardown(() => c.disconnect());
  return c;
}

/** How long a command takes to settle, and whether it failed. */
async function timed(command: Promise<unknown>): Promise<{ ms: number; failed: boolean; error?: string }> {
  const started = performance.now();
  try {
    await command;
    return { ms: performance.now() - started, failed: false };
  } catch (err) {
    return { ms: performance.now() - started, failed: true, error: (err as Error).message };
  }
}

t.test('a client pointed at a closed port fails commands fast and never crashes', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  await server.stop();
  const logs: object[] = [];
  const c = client(t, server.url, logs);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const command of [c.get('k'), c.set('k', 'v'), c.ping()]) {
    const result = await timed(command);
    t.ok(result.failed, `failed: ${result.error}`);
    t.ok(result.ms < FAST_MS, `in ${result.ms.toFixed(1)} ms`);
  }
  // Immediately after creation, before the first attempt has even failed, too.
  const fresh = client(t, server.url);
  const early = await timed(fresh.get('k'));
  t.ok(early.failed && early.ms < FAST_MS, `a brand-new client fails in ${early.ms.toFixed(1)} ms`);
  t.equal(logs.length, 1, 'connection errors logged once (rate-limited), and not thrown');
  t.match(logs[0], { connection: 'offline-test', code: 'ECONNREFUSED' });
});

t.test('after the server stops commands fail fast; after it restarts the client reconnects by itself', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  const c = client(t, server.url);
  await waitForReady(c, 5_000);
  t.equal(await c.set('k', 'before'), 'OK');
  const pid = server.pid;

  await server.stop();
  t.throws(() => process.kill(pid, 0), 'the server process is gone');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const attempts = [];
  for (let i = 0; i < 5; i++) {
    attempts.push(await timed(c.get('k')));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const [i, result] of attempts.entries()) {
    t.ok(result.failed, `attempt ${i} failed: ${result.error}`);
    t.ok(result.ms < FAST_MS, `attempt ${i} in ${result.ms.toFixed(1)} ms`);
  }

  // Long enough for the back-off to grow towards its 2 s cap.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await server.start();
  t.not(server.pid, pid, 'a new process on the same port');
  const started = performance.now();
  await waitForReady(c, 5_000, true);
  t.ok(performance.now() - started < 5_000, `reconnected in ${(performance.now() - started).toFixed(0)} ms`);
  t.equal(await c.set('k', 'after'), 'OK', 'commands work again');
  t.equal(await c.get('k'), 'after');
});

t.test('a command in flight when the server dies settles within the retry budget', async (t) => {
  const server = await redisServerOrSkip(t);
  if (server === null) return;
  const c = client(t, server.url);
  await waitForReady(c, 5_000);
  // BLPOP holds the reply, so the command is in flight when the server goes away.
  const inFlight = timed(c.blpop('offline-test:never', 10));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const stopping = server.stop();
  const result = await inFlight;
  await stopping;
  t.ok(result.failed, `failed: ${result.error}`);
  t.ok(result.ms < 3_000, `settled in ${result.ms.toFixed(0)} ms instead of hanging`);
});

t.test('a wait for a client closed between connection attempts does not hold the process open', async (t) => {
  // In a child process, so what is measured is whether the process can exit: a client pointed at
  // a closed port is between attempts (no socket) when it is closed, so it emits neither 'close'
  // nor 'end', and the pending wait's 60 s timer used to keep the process alive until it fired.
  const client = new URL('../../../src/redis/client.ts', import.meta.url).href;
  const script = `
    const { createRedisClient, waitForReady } = await import(${JSON.stringify(client)});
    const c = createRedisClient('redis://127.0.0.1:1', { connectTimeoutMs: 200, name: 'closed-port', log: () => {} });
    waitForReady(c, 60_000, true).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    c.disconnect();
    console.log('closed at', Math.round(performance.now()));
  `;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  const ms = Date.now() - started;
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /closed at \d+/);
  t.ok(ms < 15_000, `the process exited ${ms} ms after it started, not when the 60 s wait would have timed out`);
});
