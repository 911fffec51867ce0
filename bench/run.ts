/**
 * `npm run bench`: builds sidecache, runs the scenarios against child processes, prints one
 * table and writes bench/results/latest.json. Every child is stopped by PID, also on failure.
 * BENCH_REF=<git ref> benches a committed snapshot instead of the working tree.
 * BENCH_ONLY=5,6 runs only those scenarios; a part of 5-8 by letter, e.g. BENCH_ONLY=5a,5d,6c,8b.
 * Scenarios 5 and 6 use the machine's Postgres (a fresh schema in `test`, dropped at the end) and
 * Redis (a random namespace, its keys deleted at the end); BENCH_DATABASE_URL / BENCH_REDIS_URL
 * override the defaults (postgres://postgres@127.0.0.1:5432/test, redis://127.0.0.1:6379).
 * BENCH_DEBUG=1 prints the Redis-outage child's last log lines (scenario 5d).
 * Scenario 7 (invalidation and metrics cost) and 8 (upstream outage drill, ETag revalidation)
 * need neither Postgres nor Redis.
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
import { sharedTiers } from './scenarios/shared-tiers.js';
import { audit } from './scenarios/audit.js';
import { invalidation } from './scenarios/invalidation.js';
import { outage } from './scenarios/outage.js';
import { runPendingCleanups } from './lib/services.js';

// Scenarios 1-4 take 2-3 minutes, 5 and 6 about 3 more, 7 and 8 about 2.5 more (more on a busy
// machine); a hard stop at 10 minutes.
const OVERALL_BUDGET_MS = 600_000;
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

const SCENARIOS = 8;

/**
 * BENCH_ONLY: comma-separated scenario numbers, each optionally followed by part letters
 * ("5", "5a", "5ad", "6c"); unset or empty = everything.
 */
function parseOnly(value: string | undefined): Map<number, Set<string> | 'all'> {
  const only = new Map<number, Set<string> | 'all'>();
  const tokens = (value ?? '').split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length === 0) {
    for (let n = 1; n <= SCENARIOS; n++) only.set(n, 'all');
    return only;
  }
  for (const token of tokens) {
    const match = /^([1-9])([a-z]*)$/.exec(token.toLowerCase());
    if (match === null || Number(match[1]) > SCENARIOS) throw new Error(`BENCH_ONLY: "${token}" is not a scenario (1-${SCENARIOS}, parts like 5a)`);
    const n = Number(match[1]);
    const letters = match[2]!;
    const current = only.get(n);
    if (letters === '' || current === 'all') only.set(n, 'all');
    else only.set(n, new Set([...(current ?? []), ...letters]));
  }
  return only;
}

const only = parseOnly(process.env['BENCH_ONLY']);
const selected = (n: number): boolean => only.has(n);
const parts = (n: number) => {
  const which = only.get(n);
  const has = (letter: string) => which === 'all' || (which !== undefined && which.has(letter));
  return { a: has('a'), b: has('b'), c: has('c'), d: has('d') };
};

/** The selected scenarios in order; rows and raw results are appended as each one finishes. */
async function runScenarios(rows: Row[], results: Record<string, unknown>): Promise<void> {
  const upstream = await startUpstream('upstream');
  try {
    if (selected(1) || selected(2)) {
      const sidecache = await startSidecache({ name: 'sidecache', upstreamUrl: upstream.url });
      try {
        if (selected(1)) {
          log('1/8 memory-hit throughput (warm-up 2 s each, then 10 s each in alternating slices)');
          const s1 = await hitThroughput(sidecache);
          rows.push(...s1.rows);
          results['hitThroughput'] = s1.result;
        }
        if (selected(2)) {
          log('2/8 miss / pass-through latency (3 x 2200 sequential requests)');
          const s2 = await missLatency(sidecache, upstream);
          rows.push(...s2.rows);
          results['missLatency'] = s2.result;
        }
      } finally {
        await stopChild(sidecache.child);
      }
    }

    if (selected(3)) {
      log('3/8 stampede (500 concurrent cold requests)');
      const s3 = await stampede();
      rows.push(...s3.rows);
      results['stampede'] = s3.result;
    }

    if (selected(4)) {
      log('4/8 memory bound (100k distinct 2 KB entries)');
      const s4 = await memoryBound(upstream);
      rows.push(...s4.rows);
      results['memoryBound'] = s4.result;
    }

    if (selected(5)) {
      log('5/8 shared tiers (Redis + Postgres, memory tier off; zipf; redis outage)');
      const s5 = await sharedTiers(upstream, parts(5), log);
      rows.push(...s5.rows);
      results['sharedTiers'] = s5.result;
    }

    if (selected(6)) {
      log('6/8 audit trail (on vs off, sustained rows/s, spool replay, kill -9)');
      const s6 = await audit(upstream, parts(6), log);
      rows.push(...s6.rows);
      results['audit'] = s6.result;
    }

    if (selected(7)) {
      log('7/8 invalidation cost (10k / 100k over HTTP, 10k / 1M in-process), hits with epochs, /metrics at 100k');
      const coreRatio = (results['hitThroughput'] as { ratio?: number } | undefined)?.ratio;
      const s7 = await invalidation(upstream, parts(7), log, coreRatio);
      rows.push(...s7.rows);
      results['invalidation'] = s7.result;
    }

    if (selected(8)) {
      log('8/8 upstream outage drill (origin killed by PID) and ETag revalidation');
      const s8 = await outage(parts(8), log);
      rows.push(...s8.rows);
      results['outage'] = s8.result;
    }
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
    only: process.env['BENCH_ONLY'] || null,
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
  // Children first (by PID), then the bench's schemas, Redis keys and temp dirs; the 'exit'
  // handler in lib/children.ts SIGKILLs whatever is still running.
  void stopAll()
    .then(() => runPendingCleanups())
    .finally(() => process.exit(2));
}, OVERALL_BUDGET_MS);
watchdog.unref();

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    await runPendingCleanups();
    clearTimeout(watchdog);
  });
