/**
 * `npm run bench`: builds sidecache, runs the four scenarios against child processes, prints one
 * table and writes bench/results/latest.json. Every child is stopped by PID, also on failure.
 * BENCH_REF=<git ref> benches a committed snapshot instead of the working tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { stopAll, stopChild } from './lib/children.js';
import { buildSidecache, ROOT, startSidecache, startUpstream } from './lib/servers.js';
import { formatTable, type Row } from './lib/table.js';
import { hitThroughput } from './scenarios/hit-throughput.js';
import { memoryBound } from './scenarios/memory-bound.js';
import { missLatency } from './scenarios/miss-latency.js';
import { stampede } from './scenarios/stampede.js';

const OVERALL_BUDGET_MS = 290_000;
const started = Date.now();

function log(message: string): void {
  process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** The four scenarios in order; rows and raw results are appended as each one finishes. */
async function runScenarios(rows: Row[], results: Record<string, unknown>): Promise<void> {
  const upstream = await startUpstream('upstream');
  try {
    const sidecache = await startSidecache({ name: 'sidecache', upstreamUrl: upstream.url });
    try {
      log('1/4 memory-hit throughput (warm-up 2 s each, then 10 s each in alternating slices)');
      const s1 = await hitThroughput(sidecache);
      rows.push(...s1.rows);
      results['hitThroughput'] = s1.result;

      log('2/4 miss / pass-through latency (3 x 2200 sequential requests)');
      const s2 = await missLatency(sidecache, upstream);
      rows.push(...s2.rows);
      results['missLatency'] = s2.result;
    } finally {
      await stopChild(sidecache.child);
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
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const loadBefore = loadavg()[0]!;

  const ref = process.env['BENCH_REF'] || undefined;
  log(`building sidecache from ${ref === undefined ? 'the working tree into dist/' : `git ${ref} (snapshot in a temp dir)`}`);
  const build = buildSidecache(ref);
  if (build.errors !== null) log(`WARNING: tsc reported errors; measuring what it emitted:\n${build.errors}`);
  try {
    await runScenarios(rows, results);
  } finally {
    build.cleanup();
  }

  // Other processes on the box (test runs, builds) skew throughput; the load average shows it.
  const loadAfter = loadavg()[0]!;
  rows.push(
    { scenario: 'machine', metric: `1-min load average start / end (${cpus().length} CPUs)`, value: `${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}` },
    { scenario: 'machine', metric: `tsc build clean (${build.source})`, value: build.errors === null ? 'yes' : 'NO', target: 'yes', pass: build.errors === null },
  );
  const elapsedS = (Date.now() - started) / 1000;
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    source: build.source,
    node: process.version,
    cpus: cpus().length,
    elapsedS,
    loadAverage: { start: loadBefore, end: loadAfter },
    buildErrors: build.errors,
    rows,
    results,
  };
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const missed = rows.filter((r) => r.pass === false).length;
  console.log(`\n${formatTable(rows)}\n\n${missed} target(s) missed; ${elapsedS.toFixed(0)} s; results in bench/results/latest.json`);
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench exceeded ${OVERALL_BUDGET_MS / 1000} s; stopping\n`);
  process.exit(2); // the 'exit' handler in lib/children.ts kills the children by PID
}, OVERALL_BUDGET_MS);
watchdog.unref();

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    clearTimeout(watchdog);
  });
