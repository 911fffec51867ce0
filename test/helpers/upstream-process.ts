import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';

const CHILD = new URL('./upstream-child.ts', import.meta.url).pathname;

/** A fake upstream in a child process of its own, so a test can stop, freeze or kill it by PID. */
export interface UpstreamProcess {
  readonly url: string;
  readonly port: number;
  /** PID of the current process (-1 while none runs; changes after `start()`). */
  readonly pid: number;
  /** Every call it received, across restarts: `GET /items/1`. */
  readonly calls: string[];
  /** SIGSTOP: the process freezes; the kernel still accepts connections, nothing answers. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** SIGKILL by PID, and waits for the exit (a crash: sockets reset, connects refused). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs `upstream-child.ts` (answers 200 JSON `{path, version, pid}`) on a free port and waits
 * until it listens. Killed by PID when the test ends.
 */
export async function startUpstreamProcess(t: Test): Promise<UpstreamProcess> {
  const calls: string[] = [];
  let child: ChildProcess | null = null;
  let port = 0;

  const start = async (): Promise<void> => {
    if (child !== null) throw new Error('the upstream process is already running');
    const spawned = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, UPSTREAM_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    running.add(spawned);
    spawned.once('exit', () => running.delete(spawned));
    let output = '';
    let pending = '';
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`upstream process did not listen in 20 s:\n${output}`)), 20_000);
      spawned.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
      spawned.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (line.startsWith('call ')) calls.push(line.slice(5));
          const listening = /^listening (\d+)$/.exec(line);
          if (listening) {
            clearTimeout(timer);
            resolve(Number(listening[1]));
          }
        }
      });
      spawned.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`upstream process exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
  };

  const alive = (): ChildProcess | null => (child !== null && child.exitCode === null && child.signalCode === null ? child : null);

  const kill = async (): Promise<void> => {
    const current = alive();
    child = null;
    if (current === null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    process.kill(current.pid!, 'SIGKILL');
    await exited;
  };

  await start();
  t.teardown(kill);
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return alive()?.pid ?? -1;
    },
    calls,
    freeze: () => {
      const current = alive();
      if (current !== null) process.kill(current.pid!, 'SIGSTOP');
    },
    thaw: () => {
      const current = alive();
      if (current !== null) process.kill(current.pid!, 'SIGCONT');
    },
    kill,
    start,
  };
}
