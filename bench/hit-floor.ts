/**
 * `npx tsx bench/hit-floor.ts`: where a lean memory hit's CPU goes, against its floors. Runs, each
 * alone on the server core with wrk on the load core (as scenario 1): a bare node:http server
 * sending the naive peer's two fields, the same sending a lane hit's nine, the naive peer,
 * sidecache lean, lean with `directHitWrites: false` (its hits written through `writeHead`), and
 * lean with `batchHitWrites: false` (each hit written as soon as it is decided, not at the turn's end),
 * in rotating 3 s slices (ROUNDS, default 4; CONNECTIONS, default 50) after a warm-up, and prints
 * req/s and server CPU µs per response for each. Needs `npm run build`.
 */
import { stopAll } from './lib/children.js';
import { pinSelfToLoadCpu } from './lib/pin.js';
import { startNaive, startRawHttp, startSidecache, startUpstream, type Running } from './lib/servers.js';
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
  readonly runs: WrkRun[];
  cpuS: number;
}

async function main(): Promise<void> {
  pinSelfToLoadCpu();
  const upstream = await startUpstream('upstream');
  const measured = (name: string, server: Running): Measured => ({ name, server, runs: [], cpuS: 0 });
  const servers = [
    measured("node:http, naive peer's 2 fields", await startRawHttp('naive')),
    measured("node:http, a lane hit's 9 fields", await startRawHttp('lane')),
    measured('naive peer (Fastify + undici + lru-cache)', await startNaive(upstream.url)),
    measured('sidecache lean', await startSidecache({ name: 'lean', upstreamUrl: upstream.url })),
    measured('sidecache lean, hits through writeHead', await startSidecache({ name: 'lean-writehead', upstreamUrl: upstream.url, directHitWrites: false })),
    measured('sidecache lean, each hit written at once', await startSidecache({ name: 'lean-at-once', upstreamUrl: upstream.url, batchHitWrites: false })),
  ];
  for (const { server } of servers) await runWrk({ url: server.url + PATH, connections: CONNECTIONS, seconds: 2 });
  await inRotation(servers, ROUNDS, async (m) => {
    const { value: run, usage } = await measureSlice(m.server.child.pid, [], () => runWrk({ url: m.server.url + PATH, connections: CONNECTIONS, seconds: SLICE_S }));
    m.runs.push(run);
    m.cpuS += usage.cpuS;
  });
  console.log(`${CONNECTIONS} connections, ${ROUNDS} x ${SLICE_S} s each:`);
  for (const { name, runs, cpuS } of servers) {
    const { rps, requests } = poolRuns(runs);
    console.log(`${name.padEnd(44)} ${rps.toFixed(0).padStart(7)} req/s  ${((cpuS * 1e6) / requests).toFixed(2).padStart(6)} µs/response`);
  }
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`hit-floor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll().then(() => process.exit()));
