import { Agent } from 'undici';
import { cannon, type CannonResult } from '../lib/cannon.js';
import { stopChild } from '../lib/children.js';
import { timedGet } from '../lib/http.js';
import { startBareFastify, type Running } from '../lib/servers.js';
import { int, ms, type Row } from '../lib/table.js';

const PATH = '/bench/items/1';
const WARMUP_S = 2;
const MEASURE_S = 10;
const CONNECTIONS = 50;
const TARGET_RATIO = 0.7;

export interface HitThroughputResult {
  readonly bare: CannonResult;
  readonly sidecache: CannonResult;
  readonly ratio: number;
  readonly sampleXCache: string | undefined;
}

async function measure(url: string): Promise<CannonResult> {
  await cannon({ url, seconds: WARMUP_S, connections: CONNECTIONS });
  return cannon({ url, seconds: MEASURE_S, connections: CONNECTIONS });
}

/** Scenario 1: memory-hit req/s through sidecache against a bare Fastify serving the same bytes. */
export async function hitThroughput(sidecache: Running): Promise<{ rows: Row[]; result: HitThroughputResult }> {
  const bareServer = await startBareFastify();
  let bare: CannonResult;
  try {
    bare = await measure(`${bareServer.url}${PATH}`);
  } finally {
    await stopChild(bareServer.child);
  }

  const agent = new Agent({ connections: 1 });
  let sample;
  try {
    await timedGet(agent, `${sidecache.url}${PATH}`);
    sample = await timedGet(agent, `${sidecache.url}${PATH}`);
  } finally {
    await agent.close();
  }
  const proxied = await measure(`${sidecache.url}${PATH}`);
  const ratio = proxied.rps / bare.rps;

  const s = '1 memory hit';
  const rows: Row[] = [
    { scenario: s, metric: 'bare fastify req/s', value: int(bare.rps) },
    { scenario: s, metric: 'bare fastify p50 / p99', value: `${ms(bare.p50)} / ${ms(bare.p99)}` },
    { scenario: s, metric: 'sidecache HIT req/s', value: int(proxied.rps) },
    { scenario: s, metric: 'sidecache HIT p50 / p99', value: `${ms(proxied.p50)} / ${ms(proxied.p99)}` },
    { scenario: s, metric: 'sample x-cache', value: sample.xCache ?? '-', target: 'HIT', pass: sample.xCache === 'HIT' },
    { scenario: s, metric: 'errors + non-2xx (both runs)', value: int(bare.errors + bare.non2xx + proxied.errors + proxied.non2xx), target: '0', pass: bare.errors + bare.non2xx + proxied.errors + proxied.non2xx === 0 },
    { scenario: s, metric: 'ratio sidecache / bare', value: ratio.toFixed(3), target: `>= ${TARGET_RATIO}`, pass: ratio >= TARGET_RATIO },
  ];
  return { rows, result: { bare, sidecache: proxied, ratio, sampleXCache: sample.xCache } };
}
