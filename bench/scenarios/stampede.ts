import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import { stopChild } from '../lib/children.js';
import { control, timedGet } from '../lib/http.js';
import { startSidecache, startUpstream } from '../lib/servers.js';
import { int, ms, type Row } from '../lib/table.js';

const CONCURRENT = 500;
const DELAY_MS = 200;

export interface StampedeResult {
  readonly requests: number;
  readonly ok200: number;
  readonly upstreamCalls: number;
  readonly xCache: Record<string, number>;
  readonly wallMs: number;
}

/** Scenario 3: 500 concurrent cold requests for one key behind a 200 ms upstream → one upstream call. */
export async function stampede(): Promise<{ rows: Row[]; result: StampedeResult }> {
  const upstream = await startUpstream('upstream-slow', DELAY_MS);
  const agent = new Agent({ connections: CONCURRENT + 100, pipelining: 1 });
  let sidecache;
  try {
    sidecache = await startSidecache({ name: 'sidecache-stampede', upstreamUrl: upstream.url });
    await control(agent, `${upstream.url}/__reset`, 'POST');
    const url = `${sidecache.url}/bench/items/stampede-${randomUUID()}`;
    const started = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => timedGet(agent, url)));
    const wallMs = performance.now() - started;
    const { count } = (await control(agent, `${upstream.url}/__count`)) as { count: number };

    const xCache: Record<string, number> = {};
    let ok200 = 0;
    for (const s of settled) {
      const label = s.status === 'fulfilled' ? (s.value.xCache ?? 'none') : 'error';
      xCache[label] = (xCache[label] ?? 0) + 1;
      if (s.status === 'fulfilled' && s.value.status === 200) ok200 += 1;
    }
    const sc = '3 stampede';
    const rows: Row[] = [
      { scenario: sc, metric: `concurrent cold requests (upstream ${DELAY_MS} ms)`, value: int(CONCURRENT) },
      { scenario: sc, metric: 'responses 200', value: int(ok200), target: String(CONCURRENT), pass: ok200 === CONCURRENT },
      { scenario: sc, metric: 'x-cache counts', value: Object.entries(xCache).map(([k, v]) => `${k}=${v}`).join(' ') },
      { scenario: sc, metric: 'upstream calls', value: int(count), target: '1', pass: count === 1 },
      { scenario: sc, metric: 'wall time, all 500', value: ms(wallMs) },
    ];
    return { rows, result: { requests: CONCURRENT, ok200, upstreamCalls: count, xCache, wallMs } };
  } finally {
    await agent.close();
    if (sidecache !== undefined) {
      await stopChild(sidecache.child);
    }
    await stopChild(upstream.child);
  }
}
