/**
 * `npx tsx bench/audit-keepup.ts`: whether the audit writer keeps up with a full sidecache child
 * under sustained memory-hit load. The child runs as scenario 1's full one (Redis and Postgres
 * tiers, audit, a session), pinned to the server core, with wrk and the machine's Postgres and
 * Redis on the load core; wrk drives 3 s, then 10 s at CONNECTIONS (default 200). Prints req/s,
 * and after each run the child's audit counters (written, spooled, replayed, dropped), its audit
 * queue depth and its garbage-collection time, read from its /metrics. Uses dist/ as built
 * (`npm run build`).
 */
import { stopChild } from './lib/children.js';
import { pinSelfToLoadCpu, withSideProcessesOnLoadCpu } from './lib/pin.js';
import { startSidecache, startUpstream } from './lib/servers.js';
import { fullTiers, runPendingCleanups, SERVICE_PROCESSES, SESSION_HEADERS } from './lib/services.js';
import { runWrk } from './lib/wrk.js';

const CONNECTIONS = Number(process.env['CONNECTIONS'] ?? 200);
const SHOWN = /^sidecache_(audit_events_total|audit_queue_depth|nodejs_gc_duration_seconds_sum)/;

async function main(): Promise<void> {
  pinSelfToLoadCpu();
  const upstream = await startUpstream('upstream');
  const server = await startSidecache({ name: 'sidecache-full', upstreamUrl: upstream.url, ...(await fullTiers()) });
  const url = `${server.url}/bench/items/1`;
  const counters = async (): Promise<string> =>
    (await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text())
      .split('\n')
      .filter((line) => SHOWN.test(line))
      .map((line) => `  ${line}`)
      .join('\n');
  try {
    await withSideProcessesOnLoadCpu(SERVICE_PROCESSES, async () => {
      for (const seconds of [3, 10]) {
        const run = await runWrk({ url, seconds, connections: CONNECTIONS, headers: SESSION_HEADERS });
        console.log(`${seconds} s at ${CONNECTIONS} connections: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms\n${await counters()}`);
      }
    });
  } finally {
    await stopChild(server.child);
    await stopChild(upstream.child);
  }
}

main().finally(() => runPendingCleanups());
