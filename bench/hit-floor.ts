/**
 * `npx tsx bench/hit-floor.ts`: where a lean memory hit's CPU goes, against its floors. Runs, each
 * alone on the server core with wrk on the load core (as scenario 1): a bare node:http server
 * sending the naive peer's two fields, the same sending a lane hit's nine, the naive peer, and
 * sidecache lean, in rotating 3 s slices (ROUNDS, default 4; CONNECTIONS, default 50) after a
 * warm-up, and prints req/s and server CPU µs per response for each. Needs `npm run build`.
 */
import { join } from 'node:path';
import { spawnNode, stopAll } from './lib/children.js';
import { pinSelfToLoadCpu } from './lib/pin.js';
import { readCpuSeconds } from './lib/proc.js';
import { ROOT, SIDECACHE_NODE_FLAGS, startNaive, startSidecache, startUpstream } from './lib/servers.js';
import { runWrk } from './lib/wrk.js';

const CONNECTIONS = Number(process.env['CONNECTIONS'] ?? 50);
const ROUNDS = Number(process.env['ROUNDS'] ?? 4);
const SLICE_S = 3;
const PATH = '/bench/items/1';

interface Server {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
}

async function rawHttp(fields: 'naive' | 'lane'): Promise<Server> {
  const child = spawnNode({
    name: `raw-http-${fields}`,
    args: [...SIDECACHE_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'bench/servers/raw-http.ts')],
    env: { PORT: '0', FIELDS: fields },
    cwd: ROOT,
    cpu: 'server',
  });
  const { port } = (await child.announced) as { port: number };
  return { name: `node:http, ${fields === 'naive' ? "naive peer's 2 fields" : "a lane hit's 9 fields"}`, url: `http://127.0.0.1:${port}`, pid: child.process.pid! };
}

async function main(): Promise<void> {
  pinSelfToLoadCpu();
  const upstream = await startUpstream('upstream');
  const naive = await startNaive(upstream.url);
  const lean = await startSidecache({ name: 'lean', upstreamUrl: upstream.url });
  const servers: Server[] = [
    await rawHttp('naive'),
    await rawHttp('lane'),
    { name: 'naive peer (Fastify + undici + lru-cache)', url: naive.url, pid: naive.child.process.pid! },
    { name: 'sidecache lean', url: lean.url, pid: lean.child.process.pid! },
  ];
  for (const server of servers) await runWrk({ url: server.url + PATH, connections: CONNECTIONS, seconds: 2 });
  const totals = new Map(servers.map((s) => [s.name, { responses: 0, cpuS: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const before = await readCpuSeconds(server.pid);
      const run = await runWrk({ url: server.url + PATH, connections: CONNECTIONS, seconds: SLICE_S });
      const total = totals.get(server.name)!;
      total.responses += run.requests;
      total.cpuS += (await readCpuSeconds(server.pid)) - before;
    }
  }
  console.log(`${CONNECTIONS} connections, ${ROUNDS} x ${SLICE_S} s each:`);
  for (const [name, { responses, cpuS }] of totals) {
    const rps = (responses / (ROUNDS * SLICE_S)).toFixed(0).padStart(7);
    console.log(`${name.padEnd(44)} ${rps} req/s  ${((cpuS * 1e6) / responses).toFixed(2).padStart(6)} µs/response`);
  }
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`hit-floor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll().then(() => process.exit()));
