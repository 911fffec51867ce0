import { readdir, readFile, readlink } from 'node:fs/promises';

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux only). */
export async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** User + system CPU seconds a process has used, from /proc/<pid>/stat (Linux only). */
export async function readCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** PIDs of the running processes whose name (/proc/<pid>/comm) is one of `names` (Linux only). */
export async function pidsNamed(names: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (names.includes((await readFile(`/proc/${entry}/comm`, 'utf8')).trim())) out.push(Number(entry));
    } catch {
      // exited in between
    }
  }
  return out;
}

/** CPU seconds of every process whose name (/proc/<pid>/comm) is one of `names`, by PID (Linux only). */
export async function readCpuSecondsByName(names: readonly string[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of await pidsNamed(names)) {
    try {
      out.set(pid, await readCpuSeconds(pid));
    } catch {
      // exited in between
    }
  }
  return out;
}

/**
 * CPU seconds the processes in `after` used since `before` (a process new in `after` counts in
 * full; one that exited in between is left out, rather than subtracting all it ever used).
 */
export function cpuDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

/** The CPUs a process may run on (`Cpus_allowed_list` in /proc/<pid>/status, e.g. "1" or "0-1"). */
export async function readAffinity(pid: number): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^Cpus_allowed_list:\s+(\S+)$/m.exec(status);
  if (match === null) throw new Error(`no Cpus_allowed_list for pid ${pid}`);
  return match[1]!;
}

/** The executable a process runs (/proc/<pid>/exe), to check a pinned child is node and not taskset. */
export async function readExecutable(pid: number): Promise<string> {
  return readlink(`/proc/${pid}/exe`);
}

/** Busy and total jiffies of each CPU since boot, from /proc/stat (index = CPU number). */
export async function readCoreTimes(): Promise<{ busy: number; total: number }[]> {
  const stat = await readFile('/proc/stat', 'utf8');
  const out: { busy: number; total: number }[] = [];
  for (const line of stat.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    // user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
    const v = match[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(match[1])] = { busy: total - v[3]! - v[4]!, total };
  }
  return out;
}
