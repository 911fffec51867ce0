import { join } from 'node:path';
import type { Pass as BurstPass } from '../clients/burst.js';
import { spawnNode, stopChild } from '../lib/children.js';
import { randomSuffix } from '../lib/services.js';
import { ROOT, startNaive, startSidecache, startUpstream, type Running } from '../lib/servers.js';
import { int, ms, type Row } from '../lib/table.js';

/**
 * Scenario 9: a cold burst. 1,000 distinct cacheable URLs, each requested once with 200 in
 * flight, against an upstream answering after 300 ms; then a second pass over the same 1,000.
 * Through sidecache with its default protection settings (no `protection:` section), and through
 * the naive peer for comparison. The load comes from bench/clients/burst.ts, a child of its own
 * on the load core, so every request is sent exactly once.
 */

const S = '9 cold burst';
const URLS = 1000;
const CONCURRENCY = 200;
const UPSTREAM_DELAY_MS = 300;
const REQUEST_TIMEOUT_MS = 30_000;
const CHILD_BUDGET_MS = 180_000;


export interface BurstRun {
  readonly upstreamBefore: number;
  readonly first: BurstPass;
  readonly second: BurstPass;
}

export interface ColdBurstResult {
  readonly sidecache: BurstRun;
  readonly naive: BurstRun;
}

/** Runs the burst child against `base` over its own URL prefix; resolves with its JSON report. */
async function burst(base: Running, upstream: Running, name: string): Promise<BurstRun> {
  const child = spawnNode({
    name: `burst-${name}`,
    args: ['--import', 'tsx', join(ROOT, 'bench', 'clients', 'burst.ts')],
    env: {
      BASE_URL: base.url,
      PATH_PREFIX: `/bench/items/burst-${name}-${randomSuffix()}-`,
      COUNT: String(URLS),
      CONCURRENCY: String(CONCURRENCY),
      TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      COUNT_URL: `${upstream.url}/__count`,
    },
    cwd: ROOT,
    cpu: 'load',
    announceTimeoutMs: CHILD_BUDGET_MS,
  });
  try {
    return (await child.announced) as unknown as BurstRun;
  } finally {
    await stopChild(child);
  }
}

const sum = (counts: Record<string, number>, keep: (key: string) => boolean = () => true) =>
  Object.entries(counts).reduce((n, [k, v]) => n + (keep(k) ? v : 0), 0);
const is2xx = (status: string) => status.startsWith('2');
const list = (counts: Record<string, number>) =>
  Object.keys(counts).length === 0 ? '-' : Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ');

/** Non-2xx responses plus transport errors of a pass. */
const failures = (p: BurstPass) => sum(p.statuses, (s) => !is2xx(s)) + sum(p.errors);

export async function coldBurst(log: (message: string) => void): Promise<{ rows: Row[]; result: ColdBurstResult }> {
  const upstream = await startUpstream('upstream-300ms', UPSTREAM_DELAY_MS);
  try {
    log(`9 sidecache (default protection): ${URLS} cold URLs at ${CONCURRENCY} in flight, upstream ${UPSTREAM_DELAY_MS} ms, then a second pass`);
    const sidecacheServer = await startSidecache({ name: 'sidecache-burst', upstreamUrl: upstream.url });
    let sidecache: BurstRun;
    try {
      sidecache = await burst(sidecacheServer, upstream, 'sidecache');
    } finally {
      await stopChild(sidecacheServer.child);
    }
    log('9 the naive peer, the same burst');
    const naiveServer = await startNaive(upstream.url);
    let naive: BurstRun;
    try {
      naive = await burst(naiveServer, upstream, 'naive');
    } finally {
      await stopChild(naiveServer.child);
    }
    const result = { sidecache, naive };
    return { rows: rowsOf(result), result };
  } finally {
    await stopChild(upstream.child);
  }
}

function rowsOf(r: ColdBurstResult): Row[] {
  const rows: Row[] = [];
  for (const [who, run] of [['sidecache', r.sidecache], ['naive', r.naive]] as const) {
    const firstCalls = run.first.upstreamCount - run.upstreamBefore;
    const secondCalls = run.second.upstreamCount - run.first.upstreamCount;
    const bad = failures(run.first);
    const hits = run.second.xCache['HIT'] ?? 0;
    // Targets are sidecache's; the naive peer's figures are for comparison.
    const goal = (target: string, ok: boolean) => (who === 'sidecache' ? { target, pass: ok } : {});
    const errors = sum(run.first.errors) > 0 ? `; ${list(run.first.errors)}` : '';
    rows.push(
      { scenario: S, metric: `${who}: pass 1 non-2xx + errors (${list(run.first.statuses)}${errors})`, value: int(bad), ...goal('0', bad === 0) },
      { scenario: S, metric: `${who}: pass 1 upstream calls`, value: int(firstCalls), ...goal(int(URLS), firstCalls === URLS) },
      { scenario: S, metric: `${who}: pass 1 wall time; p50 / p99`, value: `${ms(run.first.wallMs)}; ${ms(run.first.p50)} / ${ms(run.first.p99)}` },
      who === 'sidecache'
        ? { scenario: S, metric: `${who}: pass 2 x-cache HIT (${list(run.second.xCache)})`, value: int(hits), ...goal(int(URLS), hits === URLS) }
        : { scenario: S, metric: `${who}: pass 2 non-2xx + errors`, value: int(failures(run.second)) },
      { scenario: S, metric: `${who}: pass 2 upstream calls (0: every URL stored in pass 1)`, value: int(secondCalls), ...goal('0', secondCalls === 0) },
    );
  }
  return rows;
}
