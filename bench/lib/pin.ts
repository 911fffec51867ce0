import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { pidsNamed } from './proc.js';

/**
 * CPU pinning: the load (wrk, load-driver children, the bench process itself, the upstream) runs
 * on core 0 and every server under test alone on core 1, so a server is never capped by a load
 * generator sharing its core. Done with `taskset` (util-linux): a child is spawned as
 * `taskset -c <core> <command> <args>`, which sets the affinity and then execs the command, so
 * the PID the bench holds (and stops) is the node process itself. BENCH_PIN=0 turns it off.
 *
 * The load generator (wrk) is also given the load core first: it runs SCHED_FIFO at priority 1
 * (`chrt -f 1 taskset -c 0 wrk …`, chrt execs taskset, which execs wrk). On two cores the
 * machine's Postgres shares the load core, and the kernel here does not preempt a running task
 * for a woken one at once (PREEMPT_NONE): with the full child's audit rows to write, Postgres
 * kept wrk runnable but waiting for 0.6 of every 3 s, which left the server idle 10 % of the time
 * and was counted against it. SCHED_IDLE for Postgres did not help; a real-time wrk did. wrk
 * uses well under the core (30–65 %), so Postgres and Redis keep the rest, and the kernel's
 * real-time throttling keeps 5 % for them even if it did not. Every server's wrk gets the same.
 */

/** Where load generators, the bench process and helper upstreams run. */
export const LOAD_CPU = '0';
/** Where the server under test runs, alone. */
export const SERVER_CPU = '1';
/** The real-time priority (SCHED_FIFO) a load generator runs at on the load core. */
const GENERATOR_PRIORITY = '1';

/** `generator`: on the load core, ahead of everything else there (wrk). */
export type CpuRole = 'load' | 'generator' | 'server';

const cpuOf = (role: CpuRole): string => (role === 'server' ? SERVER_CPU : LOAD_CPU);

/** Whether children are pinned, whether the load generator runs real-time, and why (not). */
interface Pinning {
  readonly enabled: boolean;
  readonly realtime: boolean;
  readonly reason: string;
}

let state: Pinning | null = null;

const unpinned = (reason: string): Pinning => ({ enabled: false, realtime: false, reason });

function detect(): Pinning {
  if (process.env['BENCH_PIN'] === '0') return unpinned('BENCH_PIN=0');
  if (process.platform !== 'linux') return unpinned(`not Linux (${process.platform})`);
  if (cpus().length < 2) return unpinned(`${cpus().length} CPU`);
  const probe = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return unpinned('taskset not found (util-linux)');
  const pinned = `load on core ${LOAD_CPU}, servers on core ${SERVER_CPU}`;
  const realtime = spawnSync('chrt', ['-f', GENERATOR_PRIORITY, 'true']);
  if (realtime.error !== undefined || realtime.status !== 0) return { enabled: true, realtime: false, reason: `${pinned}; wrk not real-time (chrt -f refused: needs root or CAP_SYS_NICE)` };
  return { enabled: true, realtime: true, reason: `${pinned}, wrk SCHED_FIFO ${GENERATOR_PRIORITY}` };
}

export function pinning(): Pinning {
  state ??= detect();
  return state;
}

/**
 * The command line that runs `command args` on the role's core: `taskset -c N command args`
 * when pinning is on (prefixed with `chrt -f 1` for a generator, where allowed), else unchanged.
 */
export function pinnedCommand(role: CpuRole | undefined, command: string, args: readonly string[]): { command: string; args: string[] } {
  const { enabled, realtime } = pinning();
  if (role === undefined || !enabled) return { command, args: [...args] };
  const pinned = ['-c', cpuOf(role), command, ...args];
  if (role === 'generator' && realtime) return { command: 'chrt', args: ['-f', GENERATOR_PRIORITY, 'taskset', ...pinned] };
  return { command: 'taskset', args: pinned };
}

/**
 * Pins this process, all of its threads (`-a`), to the load core; children it spawns later
 * inherit that unless they are spawned through `pinnedCommand`. Returns what was done.
 */
export function pinSelfToLoadCpu(): string {
  const { enabled, reason } = pinning();
  if (!enabled) return `not pinned: ${reason}`;
  const result = spawnSync('taskset', ['-a', '-c', '-p', LOAD_CPU, String(process.pid)], { encoding: 'utf8' });
  if (result.status !== 0) {
    state = unpinned(`taskset -p failed: ${(result.stderr ?? '').trim()}`);
    return `not pinned: ${state.reason}`;
  }
  return reason;
}

/**
 * Moves the machine's own services (Postgres, Redis: not started by the bench, not under test)
 * onto the load core while `run` runs, then gives each process back the CPU list it had. In a
 * deployment they live on other hosts; here, unpinned, they take time from the server core and
 * the server under test no longer has a core to itself. Postgres backends forked meanwhile
 * inherit the postmaster's affinity, so they follow. Returns what was done, for the results.
 */
export async function withSideProcessesOnLoadCpu<T>(names: readonly string[], run: () => Promise<T>): Promise<{ value: T; note: string }> {
  if (!pinning().enabled) return { value: await run(), note: `not moved: ${pinning().reason}` };
  const previous = new Map<number, string>();
  for (const pid of await pidsNamed(names)) {
    const shown = spawnSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' });
    const list = /:\s*(\S+)\s*$/.exec(shown.stdout ?? '')?.[1];
    if (shown.status !== 0 || list === undefined) continue;
    if (spawnSync('taskset', ['-a', '-c', '-p', LOAD_CPU, String(pid)]).status === 0) previous.set(pid, list);
  }
  const note = previous.size === 0 ? `not moved (no ${names.join('/')} process could be pinned)` : `${previous.size} ${names.join('/')} processes on core ${LOAD_CPU}`;
  try {
    return { value: await run(), note };
  } finally {
    for (const [pid, list] of previous) spawnSync('taskset', ['-a', '-c', '-p', list, String(pid)]);
    // Backends forked while pinned exit with their connections; any still here get the postmaster's list back.
    const [first] = previous.values();
    if (first !== undefined) for (const pid of await pidsNamed(names)) if (!previous.has(pid)) spawnSync('taskset', ['-a', '-c', '-p', first, String(pid)]);
  }
}
