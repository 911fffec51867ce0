import { cannon, type CannonResult } from './cannon.js';
import { cpuDelta, readCoreTimes, readCpuSeconds, readCpuSecondsByName } from './proc.js';

/** One server measured by `alternatingSlices`; `runs` and `cpuSeconds` are filled in. */
export interface SliceTarget {
  readonly url: string;
  readonly pid: number;
  readonly headers?: Record<string, string>;
  /** The measured slices, in order. */
  readonly runs: CannonResult[];
  /** The warm-up run (not measured, but its requests were served). */
  warmup: CannonResult | null;
  /** Server-process CPU (user + system) over the measured slices. */
  cpuSeconds: number;
  /** CPU of the processes named `SliceOptions.sideProcess` (e.g. postgres) over this target's slices. */
  sideCpuSeconds: number;
}

export interface SliceOptions {
  readonly warmupS: number;
  /** Measured seconds per target, cut into `slices` runs. */
  readonly measureS: number;
  readonly slices: number;
  readonly connections: number;
  /** Also measure the CPU of every process with this name during each target's slices (e.g. "postgres"). */
  readonly sideProcess?: string;
}

export function sliceTarget(url: string, pid: number, headers?: Record<string, string>): SliceTarget {
  return { url, pid, runs: [], warmup: null, cpuSeconds: 0, sideCpuSeconds: 0, ...(headers === undefined ? {} : { headers }) };
}

/**
 * Warms both targets, then measures them in alternating slices run A B B A ..., so background
 * load drifting during the measurement (other processes on a small box) hits both alike, with
 * each server's CPU time over its slices.
 */
export async function alternatingSlices(a: SliceTarget, b: SliceTarget, options: SliceOptions): Promise<void> {
  const run = (target: SliceTarget, seconds: number) =>
    cannon({ url: target.url, seconds, connections: options.connections, ...(target.headers === undefined ? {} : { headers: target.headers }) });
  a.warmup = await run(a, options.warmupS);
  b.warmup = await run(b, options.warmupS);
  await inRotation([a, b], options.slices, async (target) => {
    const sideBefore = options.sideProcess === undefined ? null : await readCpuSecondsByName([options.sideProcess]);
    const cpuBefore = await readCpuSeconds(target.pid);
    target.runs.push(await run(target, options.measureS / options.slices));
    target.cpuSeconds += (await readCpuSeconds(target.pid)) - cpuBefore;
    if (sideBefore !== null) target.sideCpuSeconds += cpuDelta(sideBefore, await readCpuSecondsByName([options.sideProcess!]));
  });
}

/**
 * `alternatingSlices` for any number of targets: each warmed once, then measured in slices run
 * in forward and reverse order in turn (A B C, C B A, ...), with each server's CPU time.
 */
export async function rotatingSlices(targets: readonly SliceTarget[], options: SliceOptions): Promise<void> {
  const run = (target: SliceTarget, seconds: number) =>
    cannon({ url: target.url, seconds, connections: options.connections, ...(target.headers === undefined ? {} : { headers: target.headers }) });
  for (const target of targets) target.warmup = await run(target, options.warmupS);
  await inRotation(targets, options.slices, async (target) => {
    const cpuBefore = await readCpuSeconds(target.pid);
    target.runs.push(await run(target, options.measureS / options.slices));
    target.cpuSeconds += (await readCpuSeconds(target.pid)) - cpuBefore;
  });
}

/**
 * Measures every target `rounds` times, in forward and reverse order in turn (A B C, C B A, ...),
 * so background load drifting during a measurement hits every target alike.
 */
export async function inRotation<T>(targets: readonly T[], rounds: number, measure: (target: T, round: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) await measure(target, round);
  }
}

/** What one measured run cost: the server's CPU, the side processes' CPU, and each core's busy and total time (seconds and ticks). */
export interface SliceUsage {
  readonly cpuS: number;
  readonly sideS: number;
  readonly cores: readonly { readonly busy: number; readonly total: number }[];
}

/**
 * Runs `run` and reads around it what it cost: CPU of the server `pid`, of every process named in
 * `sideProcesses` (e.g. postgres), and each core's busy and total time from /proc/stat.
 */
export async function measureSlice<T>(pid: number, sideProcesses: readonly string[], run: () => Promise<T>): Promise<{ value: T; usage: SliceUsage }> {
  const [cpuBefore, sideBefore, coresBefore] = [await readCpuSeconds(pid), await readCpuSecondsByName(sideProcesses), await readCoreTimes()];
  const value = await run();
  const [cpuAfter, sideAfter, coresAfter] = [await readCpuSeconds(pid), await readCpuSecondsByName(sideProcesses), await readCoreTimes()];
  const cores = coresAfter.map((c, i) => ({ busy: c.busy - (coresBefore[i]?.busy ?? c.busy), total: c.total - (coresBefore[i]?.total ?? c.total) }));
  return { value, usage: { cpuS: cpuAfter - cpuBefore, sideS: cpuDelta(sideBefore, sideAfter), cores } };
}
