import { readdir, readFile } from 'node:fs/promises';

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

/** CPU seconds of every process whose name (/proc/<pid>/comm) is `name`, by PID (Linux only). */
export async function readCpuSecondsByName(name: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() !== name) continue;
      out.set(pid, await readCpuSeconds(pid));
    } catch {
      // exited in between
    }
  }
  return out;
}

/** CPU seconds the processes in `after` used since `before` (a process new in `after` counts in full). */
export function cpuDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}
