import { Agent } from 'undici';
import { combine, type CannonResult } from '../lib/cannon.js';
import { stopChild } from '../lib/children.js';
import { timedGet } from '../lib/http.js';
import { alternatingSlices, sliceTarget } from '../lib/slices.js';
import { startBareFastify, type Running } from '../lib/servers.js';
import { int, ms, type Row } from '../lib/table.js';

const PATH = '/bench/items/1';
const WARMUP_S = 2;
const MEASURE_S = 10;
// The 10 s per target are cut into slices run A B B A ..., so background load drifting during
// the scenario (other processes on a 2-core box) hits both targets alike.
const SLICES = 4;
const CONNECTIONS = 50;
const TARGET_RATIO = 0.7;

export interface HitThroughputResult {
  readonly bare: CannonResult;
  readonly sidecache: CannonResult;
  readonly ratio: number;
  readonly sampleXCache: string | undefined;
  readonly slices: { readonly bare: readonly number[]; readonly sidecache: readonly number[] };
  /** Server-process CPU (user + system) per request over the measured slices, in µs. */
  readonly cpuUsPerRequest: { readonly bare: number; readonly sidecache: number };
}

/** Scenario 1: memory-hit req/s through sidecache against a bare Fastify serving the same bytes. */
export async function hitThroughput(sidecache: Running): Promise<{ rows: Row[]; result: HitThroughputResult }> {
  const agent = new Agent({ connections: 1 });
  let sample;
  try {
    await timedGet(agent, `${sidecache.url}${PATH}`);
    sample = await timedGet(agent, `${sidecache.url}${PATH}`);
  } finally {
    await agent.close();
  }

  const bareServer = await startBareFastify();
  const a = sliceTarget(`${bareServer.url}${PATH}`, bareServer.child.pid);
  const b = sliceTarget(`${sidecache.url}${PATH}`, sidecache.child.pid);
  try {
    await alternatingSlices(a, b, { warmupS: WARMUP_S, measureS: MEASURE_S, slices: SLICES, connections: CONNECTIONS });
  } finally {
    await stopChild(bareServer.child);
  }
  const bare = combine(a.runs);
  const proxied = combine(b.runs);
  const ratio = proxied.rps / bare.rps;
  const slices = { bare: a.runs.map((r) => Math.round(r.rps)), sidecache: b.runs.map((r) => Math.round(r.rps)) };
  const cpuUsPerRequest = { bare: (a.cpuSeconds * 1e6) / bare.total, sidecache: (b.cpuSeconds * 1e6) / proxied.total };

  const s = '1 memory hit';
  const rows: Row[] = [
    { scenario: s, metric: 'bare fastify req/s', value: int(bare.rps) },
    { scenario: s, metric: 'bare fastify p50 / worst p99', value: `${ms(bare.p50)} / ${ms(bare.p99)}` },
    { scenario: s, metric: 'sidecache HIT req/s', value: int(proxied.rps) },
    { scenario: s, metric: 'sidecache HIT p50 / worst p99', value: `${ms(proxied.p50)} / ${ms(proxied.p99)}` },
    { scenario: s, metric: 'req/s per slice bare | sidecache', value: `${slices.bare.join(' ')} | ${slices.sidecache.join(' ')}` },
    { scenario: s, metric: 'server CPU per request bare | sidecache', value: `${cpuUsPerRequest.bare.toFixed(1)} µs | ${cpuUsPerRequest.sidecache.toFixed(1)} µs` },
    { scenario: s, metric: 'sample x-cache', value: sample.xCache ?? '-', target: 'HIT', pass: sample.xCache === 'HIT' },
    { scenario: s, metric: 'errors + non-2xx (both runs)', value: int(bare.errors + bare.non2xx + proxied.errors + proxied.non2xx), target: '0', pass: bare.errors + bare.non2xx + proxied.errors + proxied.non2xx === 0 },
    { scenario: s, metric: 'ratio sidecache / bare', value: ratio.toFixed(3), target: `>= ${TARGET_RATIO}`, pass: ratio >= TARGET_RATIO },
  ];
  return { rows, result: { bare, sidecache: proxied, ratio, sampleXCache: sample.xCache, slices, cpuUsPerRequest } };
}
