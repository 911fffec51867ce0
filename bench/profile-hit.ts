/**
 * `npx tsx bench/profile-hit.ts [bare|audit|full|tiers]`: CPU-profiles a sidecache child (lean;
 * `audit`: lean with audit rows to Postgres, as scenario 6a; `full` with Redis, Postgres, audit
 * and a session as scenario 1 runs it; `tiers`: full with audit off; or the bare Fastify baseline)
 * under the scenario-1 memory-hit load (wrk, and the machine's Postgres and Redis, pinned to the load core, the child to the server
 * core, 10 s, PROFILE_CONNECTIONS or 50 connections) and prints the top
 * self-time functions in µs per request. Uses dist/ as built (`npm run build`), or with
 * BENCH_REF=<git ref> builds that commit in a temp dir first.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll, stopChild } from './lib/children.js';
import { buildSidecache, startBareFastify, startSidecache, startUpstream, type Running } from './lib/servers.js';
import { pinSelfToLoadCpu, withSideProcessesOnLoadCpu } from './lib/pin.js';
import { runWrk } from './lib/wrk.js';
import { createBenchSchema, fullTiers, runPendingCleanups, SERVICE_PROCESSES, SESSION_HEADERS, tempDir } from './lib/services.js';

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}
/** PROFILE_TOP, default 25: how many rows each listing prints. */
const TOP = Number(process.env['PROFILE_TOP'] ?? 25);
/** PROFILE_CONNECTIONS, default 50 (scenario 1 also runs 200). */
const CONNECTIONS = Number(process.env['PROFILE_CONNECTIONS'] ?? 50);

function shortName(url: string): string {
  if (url === '') return '(native)';
  if (url.includes('node_modules/')) return url.replace(/^.*node_modules\//, '');
  if (url.includes('/dist/')) return url.replace(/^.*\/dist\//, 'dist/');
  if (url.includes('/bench/')) return url.replace(/^.*\/bench\//, 'bench/');
  return url;
}

function group(url: string): string {
  const name = shortName(url);
  if (name.startsWith('node:')) return 'node core (js)';
  if (name.startsWith('dist/') || name.startsWith('bench/') || name === '(native)') return name;
  return name.split('/').slice(0, name.startsWith('@') ? 2 : 1).join('/');
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  const mode = arg === 'bare' || arg === 'full' || arg === 'audit' || arg === 'tiers' ? arg : 'lean';
  const ref = process.env['BENCH_REF'] || undefined;
  pinSelfToLoadCpu();
  const build = ref === undefined ? null : buildSidecache(ref);
  try {
    await profileOnce(mode);
  } finally {
    build?.cleanup();
    await runPendingCleanups();
  }
}


async function profileOnce(mode: 'bare' | 'lean' | 'audit' | 'full' | 'tiers'): Promise<void> {
  const bare = mode === 'bare';
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-prof-'));
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  let server: Running;
  if (bare) {
    server = await startBareFastify(nodeArgs);
  } else {
    const upstream = await startUpstream('upstream');
    const tiers =
      mode === 'full' || mode === 'tiers'
        ? await fullTiers(mode === 'full')
        : mode === 'audit'
          ? { databaseUrl: (await createBenchSchema()).url, postgresTier: false, audit: { enabled: true }, dataDir: tempDir('sidecache-prof-audit-').path }
          : {};
    server = await startSidecache({ name: 'sidecache', upstreamUrl: upstream.url, nodeArgs, ...tiers });
  }
  const headers = mode === 'full' || mode === 'tiers' ? SESSION_HEADERS : undefined;
  const url = `${server.url}/bench/items/1`;
  // As in scenario 1, the machine's Postgres and Redis run on the load core while it measures.
  const { value: measured } = await withSideProcessesOnLoadCpu(SERVICE_PROCESSES, async () => {
    await runWrk({ url, seconds: 2, connections: CONNECTIONS, headers });
    const start = performance.now();
    const wrk = await runWrk({ url, seconds: 10, connections: CONNECTIONS, headers });
    return { start, wrk, end: performance.now() };
  });
  const { start: measureStart, wrk: run, end: measureEnd } = measured;
  const result = { total: run.requests };
  console.log(`${bare ? 'bare fastify' : `sidecache ${mode}`} @${CONNECTIONS}: req/s ${run.rps.toFixed(0)} p50 ${run.p50} ms p99 ${run.p99} ms`);
  await stopChild(server.child);

  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no profile written');
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  rmSync(dir, { recursive: true, force: true });

  // Attribute each sample's time to its frame; only the last ~10 s (the measured run) counts.
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const times: number[] = [];
  let t = 0;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  const windowStart = t - (measureEnd - measureStart) * 1000;
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frameKey = (f: Profile['nodes'][number]['callFrame']) => `${f.functionName || '(anonymous)'} ${shortName(f.url)}:${f.lineNumber + 1}`;
  const byFrame = new Map<string, number>();
  const byGroup = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    if (times[i]! < windowStart) return;
    const frame = frames.get(id)!;
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (frame.functionName === '(idle)') return;
    busy += us;
    const key = frameKey(frame);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = frames.get(at)!;
      if (f.url === '' && f.functionName !== '') continue;
      const k = frameKey(f);
      if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      seen.add(k);
    }
    byFrame.set(key, (byFrame.get(key) ?? 0) + us);
    const g = frame.url === '' ? `(native) ${frame.functionName}` : group(frame.url);
    byGroup.set(g, (byGroup.get(g) ?? 0) + us);
  });
  const perReq = (us: number) => `${(us / result.total).toFixed(1).padStart(6)} µs/req`;
  console.log(`busy CPU in window: ${perReq(busy)} (${((busy / ((measureEnd - measureStart) * 1000)) * 100).toFixed(0)}% of one core)`);
  console.log('\nself time by function:');
  for (const [k, us] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${perReq(us)}  ${k}`);
  console.log('\ninclusive time, application and framework frames:');
  const interesting = (k: string) => / (dist|bench|fastify|find-my-way|pino|lru-cache|node:internal\/crypto|node:_http_server)/.test(k);
  for (const [k, us] of [...inclusive].filter(([k]) => interesting(k)).sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${perReq(us)}  ${k}`);
  console.log('\nself time by module / package:');
  for (const [k, us] of [...byGroup].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${perReq(us)}  ${k}`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`profile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
