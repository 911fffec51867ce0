import { join } from 'node:path';
import { spawnNode, stopChild, type Child } from './children.js';
import { ROOT } from './servers.js';

/** The load child of bench/clients/audit-load.ts, driven by the rate it is told. */
export interface AuditLoad {
  readonly child: Child;
  /** Sets the rows per second it COPYs (0 pauses); resolves once the child has taken it up. */
  setRate(rowsPerSecond: number): Promise<void>;
  stop(): Promise<void>;
}

const ACK_TIMEOUT_MS = 5_000;
/** The upstream the load child's rows name, which no sidecache child of the bench uses. */
export const AUDIT_LOAD_UPSTREAM = 'audit-load';

/** Starts the audit-load child on the load core against `databaseUrl` (a bench schema's URL). */
export async function startAuditLoad(databaseUrl: string): Promise<AuditLoad> {
  const child = spawnNode({
    name: 'audit-load',
    args: ['--import', 'tsx', join(ROOT, 'bench', 'clients', 'audit-load.ts')],
    env: { DATABASE_URL: databaseUrl, UPSTREAM: AUDIT_LOAD_UPSTREAM },
    cwd: ROOT,
    cpu: 'load',
    stdin: true,
  });
  await child.announced;
  const setRate = (rowsPerSecond: number) =>
    new Promise<void>((resolve, reject) => {
      const rate = Math.round(rowsPerSecond);
      if (!Number.isSafeInteger(rate) || rate < 0) {
        reject(new RangeError(`audit-load: a rate is a number of rows per second, 0 or more (got ${rowsPerSecond})`));
        return;
      }
      const expected = JSON.stringify({ rate });
      const stdout = child.process.stdout!;
      const timer = setTimeout(() => {
        stdout.off('data', onData);
        reject(new Error(`audit-load did not take up rate ${rate} within ${ACK_TIMEOUT_MS} ms\n${child.stderrTail()}`));
      }, ACK_TIMEOUT_MS);
      let seen = '';
      function onData(chunk: string) {
        seen += chunk;
        if (!seen.includes(expected)) return;
        clearTimeout(timer);
        stdout.off('data', onData);
        resolve();
      }
      stdout.on('data', onData);
      child.process.stdin!.write(`${rate}\n`);
    });
  return { child, setRate, stop: () => stopChild(child) };
}
