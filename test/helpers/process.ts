import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { parse, stringify } from 'yaml';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface SidecacheProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every stdout/stderr line so far. */
  readonly output: string[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/**
 * Test-safe defaults merged under a test's config: the admin listener on an ephemeral port, and
 * no database (audit and the Postgres tier off) unless the test configures them — so parallel
 * test processes never share a port or the repository's ./data.
 */
const PROCESS_DEFAULTS = { admin: { port: 0 }, audit: { enabled: false }, cache: { postgres: { enabled: false } } };

/** Writes a config file (over PROCESS_DEFAULTS) to a temp dir removed at test end; returns its path. */
export function writeConfig(t: Test, yaml: string, options: { defaults?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'proxy.config.yaml');
  const parsed: unknown = parse(yaml);
  const merged = options.defaults === false || !isRecord(parsed) ? yaml : stringify(mergeDefaults(PROCESS_DEFAULTS, parsed));
  writeFileSync(path, merged);
  return path;
}

function mergeDefaults(defaults: Record<string, unknown>, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...given };
  for (const [key, value] of Object.entries(defaults)) {
    const current = out[key];
    if (current === undefined || current === null) out[key] = value;
    else if (isRecord(value) && isRecord(current)) out[key] = mergeDefaults(value, current);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A log line from the admin listener: its logger binds `listener: "admin"`; the proxy's binds none. */
export const isAdminLine = (line: string): boolean => line.includes('"listener":"admin"');

/** The URL in a listener's "Server listening at" line, if the line is that listener's. */
export function listeningUrl(line: string, listener: 'proxy' | 'admin'): string | undefined {
  if (isAdminLine(line) !== (listener === 'admin')) return undefined;
  return /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
}

/**
 * Runs `src/main.ts` as a real process (through tsx) on an ephemeral port and waits until it
 * logs that it listens. Killed by PID at test end if still running.
 */
export async function startSidecacheProcess(t: Test, configPath: string, env: Record<string, string> = {}): Promise<SidecacheProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PROXY_CONFIG: configPath, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecache did not start in 20 s:\n${output.join('\n')}`)), 20_000);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(line);
        const proxyUrl = listeningUrl(line, 'proxy');
        if (proxyUrl !== undefined) {
          clearTimeout(timer);
          resolve(proxyUrl);
        }
      }
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecache exited (${code}) before listening:\n${output.join('\n')}`));
    });
  });
  return { child, url, output, exited };
}
