import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnProcess, stopChild } from './children.js';
import { parseWrkSummary, type WrkRun } from './wrk-summary.js';

/**
 * wrk as the load generator: its own process, one thread, pinned to the load core ahead of
 * everything else there (`chrt -f 1 taskset -c 0 wrk -t1 -cN -dXs --latency --timeout 10s
 * -s wrk-summary.lua URL`, bench/lib/pin.ts), so the server under test has the other core to
 * itself and is never left waiting for its load. The Lua script writes a JSON summary to a
 * temp file named by $WRK_SUMMARY.
 */

const SCRIPT = fileURLToPath(new URL('./wrk-summary.lua', import.meta.url));
const INSTALL_HINT = 'wrk is not installed; install it with `apt-get install -y wrk` (Debian/Ubuntu), then run the bench again';

/** Throws with the install command when wrk is not on PATH; returns its version line. */
export function requireWrk(): string {
  // `wrk -v` prints its version and usage, and exits 1.
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error !== undefined) throw new Error(INSTALL_HINT);
  return `${probe.stdout}${probe.stderr}`.split('\n')[0]?.trim() ?? 'wrk';
}

export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Per-request timeout; wrk counts a slower response as a timeout error. Default 10 s. */
  readonly timeoutS?: number;
  /**
   * Open every connection before the first request (default true): each connection's first
   * request waits CONNECT_FIRST_MS (wrk-summary.lua), the load runs for the rest of `seconds`,
   * and req/s counts that time only. False measures the server accepting its connections under load as well.
   */
  readonly connectFirst?: boolean;
}

/**
 * The pause before the first requests when connections open first: wrk connects 200 sockets
 * in about 20 ms here, and an idle server accepts them in a few more.
 */
export const CONNECT_FIRST_MS = 200;

/** One wrk run; throws if wrk fails or writes no summary. */
export async function runWrk(options: WrkOptions): Promise<WrkRun> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-wrk-'));
  const out = join(dir, 'summary.json');
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    '--timeout',
    `${options.timeoutS ?? 10}s`,
    '-s',
    SCRIPT,
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    options.url,
  ];
  const startDelay = options.connectFirst === false ? {} : { WRK_START_DELAY_MS: String(CONNECT_FIRST_MS), WRK_CONNECTIONS: String(options.connections) };
  const child = spawnProcess('wrk', { name: 'wrk', args, env: { WRK_SUMMARY: out, ...startDelay }, cpu: 'generator' });
  // Cancelled once the run is over, so a finished run leaves no timer holding the process open.
  const overdue = new AbortController();
  try {
    const exited = once(child.process, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const limit = sleep((options.seconds + (options.timeoutS ?? 10) + 20) * 1000, null, { signal: overdue.signal }).catch(() => null);
    const result = await Promise.race([exited, limit]);
    if (result === null) throw new Error(`wrk did not finish a ${options.seconds} s run in time`);
    const [code, signal] = result;
    if (code !== 0) throw new Error(`wrk exited ${signal ?? `with code ${code}`}: ${child.stderrTail().trim() || child.stdoutTail().trim()}`);
    let text: string;
    try {
      text = readFileSync(out, 'utf8');
    } catch {
      throw new Error(`wrk wrote no summary (${child.stderrTail().trim()})`);
    }
    return parseWrkSummary(text);
  } finally {
    overdue.abort();
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
