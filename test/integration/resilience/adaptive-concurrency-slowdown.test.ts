import t from 'tap';
import { BUILT_IN_DEFAULTS } from '../../../src/config/schema.js';
import { PROTECTION_DEFAULTS } from '../../../src/config/protection.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig, upstream as upstreamConfig } from '../../helpers/config.js';
import { client, header, loadUntil, readyz, sleep, summary, tally, within, type Answer } from '../../helpers/drill.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

/**
 * The upstream turns ten times slower (300 ms -> 3 s) under load, with the default protection.
 * Uncached reads keep it busy; cached reads have entries past their ttl but inside
 * `staleIfError`. The adaptive limit falls, so fewer calls reach the slow upstream at once;
 * the readers with cached data keep getting 200 (stale at once when no slot is free), and the
 * others are refused with `503 upstream_saturated` at their queue deadline, never anything else.
 */

const FAST_MS = 300;
const SLOW_MS = 3_000;
const HEALTHY_PHASE_MS = 3_000;
const SLOW_PHASE_MS = 8_000;
/** The limit and in-flight calls are compared over the last this-many ms of each phase. */
const SETTLED_MS = 1_500;
const CACHED = Array.from({ length: 20 }, (_, i) => `/api/cached/${i}`);

interface Sample {
  readonly at: number;
  readonly limit: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Calls the upstream was serving at that moment. */
  readonly upstreamActive: number;
}

t.test('a tenfold slowdown: the limit and the calls in flight fall, cached data keeps being served', async (t) => {
  const started = performance.now();
  let latencyMs = FAST_MS;
  let active = 0;
  const upstream = await startFakeUpstream(async (req, res) => {
    active += 1;
    await sleep(latencyMs);
    active -= 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  t.teardown(() => upstream.close());
  const pool = { ...upstreamConfig({ target: null }).pool, connections: BUILT_IN_DEFAULTS.pool.connections };
  const rules = [
    { path: '/cached/:id', scope: 'shared' as const, ttlMs: 1_000, staleWhileRevalidateMs: 0, staleIfErrorMs: 3_600_000 },
    { path: '/items/:id', scope: 'shared' as const, ttlMs: 600_000 },
  ];
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, pool, protection: PROTECTION_DEFAULTS, rules }]));
  const http = client(t, { connections: 128, timeoutMs: 30_000 });
  const get = async (path: string): Promise<Answer & { sentAt: number }> => {
    const sentAt = performance.now() - started;
    return { ...(await http.get(proxy.url + path)), sentAt };
  };

  const warm = await Promise.all(CACHED.map(get));
  t.ok(warm.every((a) => a.status === 200), 'cached URLs fetched and stored');

  let slowFrom = Number.POSITIVE_INFINITY;
  let stop = false;
  const samples: Sample[] = [];
  const sampler = (async () => {
    for (let i = 0; i < 400 && !stop; i++) {
      const api = (await readyz(proxy.url)).body.upstreams['api'];
      samples.push({ at: performance.now() - started, limit: api?.limit ?? NaN, inFlight: api?.inFlight ?? NaN, queued: api?.queued ?? NaN, upstreamActive: active });
      await sleep(100);
    }
  })();
  const bounds = { stop: () => stop, maxPerWorker: 1_000, maxMs: 25_000 };
  // More uncached demand than the initial limit of 32, so the limit is in use and can grow.
  const uncached = loadUntil({ ...bounds, workers: 48, pauseMs: 0, send: (n) => get(`/api/items/${n}`) });
  const cached = loadUntil({ ...bounds, workers: 8, pauseMs: 20, send: (n) => get(CACHED[n % CACHED.length]!) });

  await sleep(HEALTHY_PHASE_MS);
  latencyMs = SLOW_MS;
  slowFrom = performance.now() - started;
  t.comment(`upstream ${FAST_MS} -> ${SLOW_MS} ms at ${slowFrom.toFixed(0)} ms`);
  await sleep(SLOW_PHASE_MS);
  const slowUntil = performance.now() - started;
  stop = true;
  // Queued requests end by their deadline (10 s) at the latest; in-flight calls within SLOW_MS.
  latencyMs = FAST_MS;
  const [uncachedAnswers, cachedAnswers] = await within(Promise.all([uncached, cached]), 15_000, [[], []]);
  await sampler;

  const settled = (until: number) => samples.filter((s) => s.at > until - SETTLED_MS && s.at <= until);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  const before = settled(slowFrom);
  const after = settled(slowUntil);
  const show = (list: Sample[], key: keyof Sample) => list.map((s) => s[key]).join(' ');
  const [limitBefore, limitAfter] = [median(before.map((s) => s.limit)), median(after.map((s) => s.limit))];
  t.ok(limitBefore >= PROTECTION_DEFAULTS.concurrency.initial, `healthy: the limit held or grew (${show(before, 'limit')})`);
  t.ok(limitAfter <= limitBefore / 4, `slow: the limit fell from ${limitBefore} to ${limitAfter} (${show(after, 'limit')})`);
  const [busyBefore, busyAfter] = [median(before.map((s) => s.upstreamActive)), median(after.map((s) => s.upstreamActive))];
  t.ok(busyAfter <= busyBefore / 4, `calls in flight at the upstream fell from ${busyBefore} to ${busyAfter} (${show(after, 'upstreamActive')})`);
  t.ok(after.every((s) => s.inFlight <= limitBefore / 2), `/readyz inFlight followed (${show(after, 'inFlight')}; queued ${show(after, 'queued')})`);

  t.ok(cachedAnswers.length > 0 && cachedAnswers.every((a) => a.status === 200), `every cached read answered 200 (${tally(cachedAnswers, (a) => `${a.status}/${header(a, 'x-cache')}`)})`);
  const slowCached = cachedAnswers.filter((a) => a.sentAt > slowFrom);
  t.ok(
    slowCached.some((a) => header(a, 'x-cache') === 'STALE' && header(a, 'x-cache-stale-reason') === 'saturated'),
    `after the slowdown they were served stale at once when no slot was free (${tally(slowCached, (a) => `${header(a, 'x-cache')}/${header(a, 'x-cache-stale-reason') ?? '-'}`)}; ${summary(slowCached)})`,
  );
  const refused = uncachedAnswers.filter((a) => a.status !== 200);
  t.ok(
    refused.every((a) => a.status === 503 && a.json<{ error: string }>().error === 'upstream_saturated'),
    `uncached reads: 200 or 503 upstream_saturated only (${tally(uncachedAnswers, (a) => a.status)})`,
  );
  t.comment(`limits over time: ${samples.map((s) => `${(s.at / 1000).toFixed(1)}s:${s.limit}/${s.inFlight}/${s.queued}`).join(' ')}`);
  t.comment(`took ${(performance.now() - started).toFixed(0)} ms`);
});
