/**
 * `npm run bench`: builds sidecache, runs the scenarios against child processes, prints one
 * table and writes bench/results/latest.json. Every child is stopped by PID, also on failure.
 *
 * Pinning (bench/lib/pin.ts, needs `taskset` and 2+ CPUs; BENCH_PIN=0 turns it off): this
 * process and every load generator run on core 0, each server under test alone on core 1.
 *
 *  1 hit path: one hot URL, 2 KB JSON, wrk (`taskset -c 0 wrk -t1`, needs the `wrk` package:
 *    `apt-get install -y wrk`) at 50 and 200 connections against bare Fastify, the naive peer
 *    (bench/servers/naive.ts), sidecache lean (memory tier only, audit off) and sidecache full
 *    (memory + Redis + Postgres tiers, audit, sessions); ratios to the naive peer.
 *  2 miss / pass-through latency added over the upstream direct (sequential client).
 *  3 stampede  4 memory bound  5 shared tiers  6 audit  7 invalidation cost  8 outage drill:
 *    autocannon in this (pinned) process.
 *  9 cold burst: 1,000 cold URLs at 200 in flight, upstream 300 ms, sidecache vs the naive peer.
 * 10 upstream slowed tenfold mid-run: cached clients keep getting 200s; limiter gauges sampled.
 * 11 hit-path cost per feature: the lane called in-process, one configuration per feature (ns per hit).
 * 12 change feeds: (a) from a signed Jira webhook / CDC relay event sent to instance A until A and
 *    B serve the edit; (b) signed Jira deliveries per second with audit on (load child on core 0).
 *
 * BENCH_ONLY=1,9 runs only those scenarios; a part of 5-8 or 12 by letter, e.g. BENCH_ONLY=5a,5d,6c,8b,12a.
 * BENCH_REF=<git ref> benches a committed snapshot instead of the working tree.
 * Scenarios 1, 5, 6 and 12 use the machine's Postgres (a fresh schema in `test`, dropped at the end)
 * and Redis (a random namespace, its keys deleted at the end); BENCH_DATABASE_URL /
 * BENCH_REDIS_URL override the defaults (postgres://postgres@127.0.0.1:5432/test,
 * redis://127.0.0.1:6379). BENCH_DEBUG=1 prints the Redis-outage child's last log lines (5d).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { stopAll, stopChild } from './lib/children.js';
import { parseOnly } from './lib/only.js';
import { pinSelfToLoadCpu } from './lib/pin.js';
import { buildSidecache, ROOT, startNaive, startSidecache, startUpstream } from './lib/servers.js';
import { formatTable, type Row } from './lib/table.js';
import { requireWrk } from './lib/wrk.js';
import { coldBurst } from './scenarios/cold-burst.js';
import { hitPath } from './scenarios/hit-path.js';
import { slowdown } from './scenarios/slowdown.js';
import { memoryBound } from './scenarios/memory-bound.js';
import { missLatency } from './scenarios/miss-latency.js';
import { stampede } from './scenarios/stampede.js';
import { sharedTiers } from './scenarios/shared-tiers.js';
import { audit } from './scenarios/audit.js';
import { invalidation } from './scenarios/invalidation.js';
import { outage } from './scenarios/outage.js';
import { hitCosts } from './scenarios/hit-costs.js';
import { sealCosts } from './scenarios/seal-costs.js';
import { changeFeeds } from './scenarios/change-feeds.js';
import { runPendingCleanups } from './lib/services.js';

// Scenario 1 takes about 2.5 minutes, 2-4 about 1.5, 5 and 6 about 3 more, 7 and 8 about 2.5
// more, 9 and 10 about 1.5, 12 about 1 (more on a busy machine); a hard stop at 20 minutes.
const OVERALL_BUDGET_MS = 1_200_000;
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

const SCENARIOS = 13;

const only = parseOnly(process.env['BENCH_ONLY'], SCENARIOS);
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
    if (selected(1)) {
      log(`1/${SCENARIOS} hit path: bare | naive | sidecache lean | sidecache full, wrk at 50 and 200 connections (about 2.5 min)`);
      const s1 = await hitPath(upstream, log);
      rows.push(...s1.rows);
      results['hitPath'] = s1.result;
    }

    if (selected(2)) {
      log(`2/${SCENARIOS} miss / pass-through latency (4 x 4000 sequential requests)`);
      const sidecache = await startSidecache({ name: 'sidecache', upstreamUrl: upstream.url });
      const naive = await startNaive(upstream.url);
      try {
        const s2 = await missLatency(sidecache, upstream, naive);
        rows.push(...s2.rows);
        results['missLatency'] = s2.result;
      } finally {
        await stopChild(naive.child);
        await stopChild(sidecache.child);
      }
    }

    if (selected(3)) {
      log(`3/${SCENARIOS} stampede (500 concurrent cold requests)`);
      const s3 = await stampede();
      rows.push(...s3.rows);
      results['stampede'] = s3.result;
    }

    if (selected(4)) {
      log(`4/${SCENARIOS} memory bound (100k distinct 2 KB entries)`);
      const s4 = await memoryBound(upstream);
      rows.push(...s4.rows);
      results['memoryBound'] = s4.result;
    }

    if (selected(5)) {
      log(`5/${SCENARIOS} shared tiers (Redis + Postgres, memory tier off; zipf; redis outage)`);
      const s5 = await sharedTiers(upstream, parts(5), log);
      rows.push(...s5.rows);
      results['sharedTiers'] = s5.result;
    }

    if (selected(6)) {
      log(`6/${SCENARIOS} audit trail (on vs off, sustained rows/s, spool replay, kill -9)`);
      const s6 = await audit(upstream, parts(6), log);
      rows.push(...s6.rows);
      results['audit'] = s6.result;
    }

    if (selected(7)) {
      log(`7/${SCENARIOS} invalidation cost (10k / 100k over HTTP, 10k / 1M in-process), hits with epochs, /metrics at 100k`);
      const coreRatio = (results['hitPath'] as { ratio?: number } | undefined)?.ratio;
      const s7 = await invalidation(upstream, parts(7), log, coreRatio);
      rows.push(...s7.rows);
      results['invalidation'] = s7.result;
    }

    if (selected(8)) {
      log(`8/${SCENARIOS} upstream outage drill (origin killed by PID) and ETag revalidation`);
      const s8 = await outage(parts(8), log);
      rows.push(...s8.rows);
      results['outage'] = s8.result;
    }

    if (selected(9)) {
      log(`9/${SCENARIOS} cold burst (1,000 cold URLs at 200 in flight, upstream 300 ms): sidecache, then the naive peer`);
      const s9 = await coldBurst(log);
      rows.push(...s9.rows);
      results['coldBurst'] = s9.result;
    }

    if (selected(10)) {
      log(`10/${SCENARIOS} upstream slowed tenfold mid-run (open-loop load, 20 s)`);
      const s10 = await slowdown(log);
      rows.push(...s10.rows);
      results['slowdown'] = s10.result;
    }

    if (selected(11)) {
      log(`11/${SCENARIOS} hit-path cost per feature (in-process lane, one configuration per feature)`);
      const s11 = await hitCosts();
      rows.push(...s11.rows);
      results['hitCosts'] = s11.result;
    }

    if (selected(12)) {
      log(`12/${SCENARIOS} change feeds: delivery to invalidated on two instances (Jira webhook, CDC relay event), deliveries/s with audit on`);
      const s12 = await changeFeeds(parts(12), log);
      rows.push(...s12.rows);
      results['changeFeeds'] = s12.result;
    }

    if (selected(13)) {
      log(`13/${SCENARIOS} encryption at rest: seal and open of a 2 KB entry (in-process, µs per operation)`);
      const s13 = await sealCosts();
      rows.push(...s13.rows);
      results['sealCosts'] = s13.result;
    }
  } finally {
    await stopChild(upstream.child);
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  const loadBefore = loadavg()[0]!;

  // Fail before building if scenario 1 cannot run.
  if (selected(1)) log(`load generator: ${requireWrk()}`);
  const pinned = pinSelfToLoadCpu();
  log(`pinning: ${pinned}`);

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
    { scenario: 'machine', metric: 'pinning (taskset)', value: pinned },
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
    pinning: pinned,
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
