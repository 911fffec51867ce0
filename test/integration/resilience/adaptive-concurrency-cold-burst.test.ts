import t from 'tap';
import { BUILT_IN_DEFAULTS } from '../../../src/config/schema.js';
import { PROTECTION_DEFAULTS } from '../../../src/config/protection.js';
import { startProxy } from '../../helpers/app.js';
import { testConfig, upstream as upstreamConfig } from '../../helpers/config.js';
import { client, header, loadUntil, readyz, sleep, summary, tally, type Answer } from '../../helpers/drill.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

/**
 * Issue 10: priming 1,000 distinct cold URLs at concurrency 200 against a healthy 300 ms upstream
 * got 830 x `503 upstream_saturated` behind a fixed limit of 32 with a queue of 128. With the
 * default protection (adaptive limit from 32, deadline queue) every request is answered and
 * stored; the limit grows while the upstream's latency holds.
 */

const URLS = 1_000;
const CONCURRENCY = 200;
const LATENCY_MS = 300;
const PASS_BUDGET_MS = 20_000;

t.test('a cold burst of 1,000 URLs at concurrency 200: no errors, every URL stored, the limit grows', async (t) => {
  const started = performance.now();
  let active = 0;
  let peakActive = 0;
  const upstream = await startFakeUpstream(async (req, res) => {
    peakActive = Math.max(peakActive, ++active);
    await sleep(LATENCY_MS);
    active -= 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  t.teardown(() => upstream.close());
  const pool = { ...upstreamConfig({ target: null }).pool, connections: BUILT_IN_DEFAULTS.pool.connections };
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, pool, protection: PROTECTION_DEFAULTS, rules: [{ path: '/items/:id', scope: 'shared', ttlMs: 600_000 }] }]),
  );
  const http = client(t, { connections: CONCURRENCY, timeoutMs: PASS_BUDGET_MS });
  const paths = Array.from({ length: URLS }, (_, i) => `/api/items/${i}`);

  const limits: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; i < 200 && sampling; i++) {
      const api = (await readyz(proxy.url)).body.upstreams['api'];
      if (api?.limit !== undefined) limits.push(api.limit);
      await sleep(100);
    }
  })();

  const pass = async (): Promise<{ answers: Answer[]; ms: number }> => {
    const from = performance.now();
    const answers = await loadUntil({
      workers: CONCURRENCY,
      send: (n) => http.get(proxy.url + paths[n % URLS]!),
      stop: () => false,
      pauseMs: 0,
      maxPerWorker: URLS / CONCURRENCY,
      maxMs: PASS_BUDGET_MS,
    });
    return { answers, ms: performance.now() - from };
  };

  const cold = await pass();
  sampling = false;
  await sampler;
  const failed = cold.answers.filter((a) => a.status < 200 || a.status > 299);
  t.equal(cold.answers.length, URLS, `every URL requested in ${cold.ms.toFixed(0)} ms`);
  t.equal(failed.length, 0, `no non-2xx answer (${tally(cold.answers, (a) => `${a.status}/${header(a, 'x-cache') ?? a.error}`)})`);
  t.equal(upstream.received.length, URLS, 'one upstream call per URL');
  const [initial, peak] = [PROTECTION_DEFAULTS.concurrency.initial, Math.max(...limits)];
  t.ok(peak > initial, `the limit grew while latency held: ${initial} -> ${peak} (samples: ${limits.join(' ')})`);
  t.ok(peakActive <= peak, `the upstream never saw more calls at once than the limit (${peakActive})`);
  t.comment(`cold pass: ${summary(cold.answers)}; upstream concurrency peak ${peakActive}`);

  const warm = await pass();
  t.ok(
    warm.answers.length === URLS && warm.answers.every((a) => a.status === 200 && header(a, 'x-cache') === 'HIT'),
    `second pass: every URL a HIT (${tally(warm.answers, (a) => `${a.status}/${header(a, 'x-cache')}`)}) in ${warm.ms.toFixed(0)} ms`,
  );
  t.equal(upstream.received.length, URLS, 'and no further upstream call');
  const after = (await readyz(proxy.url)).body.upstreams['api'];
  t.match(after, { inFlight: 0, queued: 0 }, '/readyz: nothing in flight or queued afterwards');
  t.comment(`took ${(performance.now() - started).toFixed(0)} ms`);
});
