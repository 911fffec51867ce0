/**
 * `npm run bench`: builds sidecache, runs the four scenarios against child processes, prints one
 * table and writes bench/results/latest.json. Every child is stopped by PID, also on failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { stopAll, stopChild } from './lib/children.js';
import { buildSidecache, ROOT, startSidecache, startUpstream } from './lib/servers.js';
import { formatTable, type Row } from './lib/table.js';
import { hitThroughput } from './scenarios/hit-throughput.js';
import { memoryBound } from './scenarios/memory-bound.js';
import { missLatency } from './scenarios/miss-latency.js';
import { stampede } from './scenarios/stampede.js';

const OVERALL_BUDGET_MS = 290_000;

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const log = (msg: string) => process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};

  log('building dist/ (tsc -p tsconfig.build.json)');
  buildSidecache();

  const upstream = await startUpstream('upstream');
  try {
    const sidecache = await startSidecache({ name: 'sidecache', upstreamUrl: upstream.url });
    try {
      log('1/4 memory-hit throughput (2 x (2 s warm-up + 10 s))');
      const s1 = await hitThroughput(sidecache);
      rows.push(...s1.rows);
      results['hitThroughput'] = s1.result;

      log('2/4 miss / pass-through latency (3 x 2200 sequential requests)');
      const s2 = await missLatency(sidecache, upstream);
      rows.push(...s2.rows);
      results['missLatency'] = s2.result;
    } finally {
      await stopChild(sidecache.child);
      sidecache.cleanup();
    }

    log('3/4 stampede (500 concurrent cold requests)');
    const s3 = await stampede();
    rows.push(...s3.rows);
    results['stampede'] = s3.result;

    log('4/4 memory bound (100k distinct 2 KB entries)');
    const s4 = await memoryBound(upstream);
    rows.push(...s4.rows);
    results['memoryBound'] = s4.result;
  } finally {
    await stopChild(upstream.child);
  }

  const table = formatTable(rows);
  const elapsedS = (Date.now() - started) / 1000;
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpus: cpus().length,
    elapsedS,
    rows,
    results,
  };
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${table}\n\n${rows.filter((r) => r.pass === false).length} target(s) missed; ${elapsedS.toFixed(0)} s; results in bench/results/latest.json`);
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench exceeded ${OVERALL_BUDGET_MS / 1000} s; stopping\n`);
  process.exit(2); // the 'exit' handler kills the children by PID
}, OVERALL_BUDGET_MS);
watchdog.unref();

main()
  .catch(async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    clearTimeout(watchdog);
  });
