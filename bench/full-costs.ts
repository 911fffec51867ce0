/**
 * `npx tsx bench/full-costs.ts`: what a full child's memory hit costs on top of lean, feature by
 * feature. Runs the naive peer, sidecache lean, full with audit off (Redis and Postgres tiers, a
 * session) and full (as scenario 1's), each alone on the server core with wrk and the machine's
 * Postgres and Redis on the load core, in rotating 3 s slices (ROUNDS, default 4; CONNECTIONS,
 * default 50) after a warm-up. Prints req/s, server CPU µs per response, Postgres + Redis CPU µs
 * per response and how busy the load core was. Needs `npm run build`. With BENCH_REF=<git ref>,
 * a lean and a full child built from that commit run in the same rotation, for an A/B of a
 * change (`ONLY=<name prefixes>` keeps some of them).
 */
import { stopAll } from './lib/children.js';
import { pinSelfToLoadCpu, withSideProcessesOnLoadCpu } from './lib/pin.js';
import { buildSidecache, startNaive, startSidecache, startUpstream, type Running } from './lib/servers.js';
import { fullTiers, runPendingCleanups, SERVICE_PROCESSES, SESSION_HEADERS } from './lib/services.js';
import { inRotation, measureSlice } from './lib/slices.js';
import { runWrk } from './lib/wrk.js';
import { poolRuns, type WrkRun } from './lib/wrk-summary.js';

const CONNECTIONS = Number(process.env['CONNECTIONS'] ?? 50);
const ROUNDS = Number(process.env['ROUNDS'] ?? 4);
const SLICE_S = 3;
const PATH = '/bench/items/1';

interface Measured {
  readonly name: string;
  readonly server: Running;
  readonly headers?: Record<string, string>;
  readonly runs: WrkRun[];
  cpuS: number;
  sideS: number;
  loadBusy: number;
  loadTotal: number;
}

async function main(): Promise<void> {
  pinSelfToLoadCpu();
  const upstream = await startUpstream('upstream');
  const measured = (name: string, server: Running, headers?: Record<string, string>): Measured => ({
    name, server, ...(headers === undefined ? {} : { headers }), runs: [], cpuS: 0, sideS: 0, loadBusy: 0, loadTotal: 0,
  });
  const tiers = async (name: string, audit: boolean) => startSidecache({ name, upstreamUrl: upstream.url, ...(await fullTiers(audit)) });
  const ref = process.env['BENCH_REF'] || undefined;
  const refBuilt: Measured[] = [];
  if (ref !== undefined) {
    const build = buildSidecache(ref);
    if (build.errors !== null) throw new Error(`${ref} does not build:\n${build.errors}`);
    refBuilt.push(measured(`lean @${ref}`, await startSidecache({ name: 'lean-ref', upstreamUrl: upstream.url })));
    refBuilt.push(measured(`full @${ref}`, await tiers('full-ref', true), SESSION_HEADERS));
    const current = buildSidecache();
    if (current.errors !== null) throw new Error(`the working tree does not build:\n${current.errors}`);
  }
  const servers = [
    measured('naive peer', await startNaive(upstream.url)),
    measured('sidecache lean', await startSidecache({ name: 'lean', upstreamUrl: upstream.url })),
    ...(process.env['LEAN_SESSION'] ? [measured('naive, session hdrs', await startNaive(upstream.url), { ...SESSION_HEADERS, 'user-agent': 'bench-full-costs' }), measured('lean, session hdrs', await startSidecache({ name: 'lean-s', upstreamUrl: upstream.url }), { ...SESSION_HEADERS, 'user-agent': 'bench-full-costs' })] : []),
    measured('full, audit off', await tiers('full-no-audit', false), SESSION_HEADERS),
    measured('full', await tiers('full', true), SESSION_HEADERS),
    ...refBuilt,
  ];

  const only = process.env['ONLY']?.split(',');
  if (only !== undefined) servers.splice(0, servers.length, ...servers.filter((m) => only.some((o) => m.name.startsWith(o))));
  const wrk = (m: Measured, seconds: number) => runWrk({ url: m.server.url + PATH, connections: CONNECTIONS, seconds, ...(m.headers === undefined ? {} : { headers: m.headers }) });
  await withSideProcessesOnLoadCpu(SERVICE_PROCESSES, async () => {
    for (const m of servers) await wrk(m, 2);
    await inRotation(servers, ROUNDS, async (m) => {
      const { value: run, usage } = await measureSlice(m.server.child.pid, SERVICE_PROCESSES, () => wrk(m, SLICE_S));
      m.runs.push(run);
      m.cpuS += usage.cpuS;
      m.sideS += usage.sideS;
      m.loadBusy += usage.cores[0]!.busy;
      m.loadTotal += usage.cores[0]!.total;
    });
  });
  console.log(`${CONNECTIONS} connections, ${ROUNDS} x ${SLICE_S} s each:`);
  const naive = poolRuns(servers[0]!.runs);
  for (const m of servers) {
    const { rps, requests } = poolRuns(m.runs);
    const us = (s: number) => ((s * 1e6) / requests).toFixed(2).padStart(6);
    console.log(
      `${m.name.padEnd(18)} ${rps.toFixed(0).padStart(7)} req/s (${(requests / naive.requests).toFixed(2)}× naive)  server ${us(m.cpuS)} µs/resp  pg+redis ${us(m.sideS)} µs/resp  load core ${((100 * m.loadBusy) / m.loadTotal).toFixed(0)}% busy`,
    );
  }
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`full-costs failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll().then(() => runPendingCleanups()).then(() => process.exit()));
