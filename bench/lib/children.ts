import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { pinnedCommand, type CpuRole } from './pin.js';

/** A server under test running in its own process. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** The first stdout line that parsed as JSON, if the child announces itself that way. */
  readonly announced: Promise<Record<string, unknown>>;
  /** Recent stderr, for error messages. */
  stderrTail(): string;
  /** Recent stdout (sidecache logs there), for diagnosis. */
  stdoutTail(): string;
}

export interface SpawnOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** How long to wait for the JSON announcement line before `announced` rejects. */
  readonly announceTimeoutMs?: number;
  /**
   * Run on the load core or the server core (bench/lib/pin.ts), through `taskset -c N`, which
   * execs the command: the PID is still the command's own. Absent: inherit the bench's affinity.
   */
  readonly cpu?: CpuRole;
  /** Give the child a stdin pipe (`child.process.stdin`); by default its stdin is ignored. */
  readonly stdin?: boolean;
}

const live = new Map<number, Child>();
const STDERR_TAIL = 4096;

/** Spawns `node <args>`; the child is registered so it is killed by PID on any exit path. */
export function spawnNode(options: SpawnOptions): Child {
  return spawnProcess(process.execPath, options);
}

/** Spawns any executable (e.g. redis-server) the same way: registered, killed by PID on exit. */
export function spawnProcess(command: string, options: SpawnOptions): Child {
  const pinned = pinnedCommand(options.cpu, command, options.args);
  const proc = spawn(pinned.command, pinned.args, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${options.name}: spawn failed`);
  const pid = proc.pid;
  let stderr = '';
  let stdout = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });

  const announced = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`${options.name}: no announcement within ${options.announceTimeoutMs ?? 15_000} ms\n${stderr}`)),
      options.announceTimeoutMs ?? 15_000,
    );
    timer.unref();
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-STDERR_TAIL);
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
          clearTimeout(timer);
        } catch {
          // not the announcement: keep reading
        }
      }
      if (buffered.length > 65_536) buffered = '';
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited early (${signal ?? `code ${code}`})\n${stderr}`));
    });
  });
  // The rejection is only interesting to callers that await the announcement.
  announced.catch(() => undefined);

  const child: Child = { name: options.name, pid, process: proc, announced, stderrTail: () => stderr, stdoutTail: () => stdout };
  live.set(pid, child);
  proc.once('exit', () => live.delete(pid));
  return child;
}

/** SIGTERM by PID, then SIGKILL if the child has not exited within `graceMs`. */
export async function stopChild(child: Child, graceMs = 5_000): Promise<void> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // exited in between
    }
    await Promise.race([exited, sleep(2_000)]);
  }
}

/** `kill -9` by PID, resolving once the child has exited (or after `waitMs`). */
export async function killChild(child: Child, waitMs = 5_000): Promise<void> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  await Promise.race([exited, sleep(waitMs)]);
}

/** Stops every child this process started, in reverse start order. */
export async function stopAll(): Promise<void> {
  for (const child of [...live.values()].reverse()) await stopChild(child);
}

/** Last resort on process exit: synchronous SIGKILL by PID for whatever is still running. */
function killRemaining(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.on('exit', killRemaining);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killRemaining();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
