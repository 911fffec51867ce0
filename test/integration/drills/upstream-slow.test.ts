import t from 'tap';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';
import { adminUrl, client, type Answer, header, UNDICI_TIMER_SLACK_MS, metric, readyz, sleep, summary, tally, waitFor } from '../../helpers/drill.js';

/**
 * Drill 2: the upstream turns slow (latency above `pool.headersTimeout`). The fake upstream is an
 * in-test server whose latency the drill switches (equivalent to a child process here: nothing
 * is killed). Stale data is served after each timeout; the failures open the upstream's breaker
 * (`/readyz` circuit "open", `sidecache_upstream_circuit_state` 2), after which stale is served
 * at once without calling the upstream; once the upstream is fast again and `openFor` has passed,
 * a probe closes the breaker and fresh data returns.
 */

const TTL_MS = 1_000;
const HEADERS_TIMEOUT_MS = 300;
const OPEN_FOR_MS = 3_000;
const SLOW_MS = 3_000;
const MARGIN_MS = 1_500;
const CACHED = Array.from({ length: 8 }, (_, i) => `/api/items/${i}`);

t.test('drill 2: slow upstream: stale served, breaker opens, then closes when the upstream recovers', async (t) => {
  const started = performance.now();
  let latencyMs = 0;
  let version = 1;
  const callTimes: number[] = [];
  const upstream = await startFakeUpstream(async (req, res) => {
    callTimes.push(performance.now());
    const answering = version;
    if (latencyMs > 0) await sleep(latencyMs);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, version: answering }));
  });
  t.teardown(() => upstream.close());
  const counted = upstream.received;
  const proc = await startSidecacheProcess(
    t,
    writeConfig(
      t,
      `
server: { host: 127.0.0.1, port: 0 }
cache: { keySecret: drill-2 }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    pool: { headersTimeout: ${HEADERS_TIMEOUT_MS}ms, bodyTimeout: 1s }
    protection:
      breaker: { window: 10s, bucket: 1s, minimumCalls: 5, failureRate: 0.5, openFor: ${OPEN_FOR_MS}ms, halfOpenProbes: 1 }
    rules:
      - { path: /items/:id, scope: shared, ttl: ${TTL_MS}ms, staleWhileRevalidate: 0s, staleIfError: 1h }
`,
    ),
  );
  const admin = await adminUrl(proc);
  t.comment(`sidecache up in ${(performance.now() - started).toFixed(0)} ms`);
  const http = client(t);
  const get = (path: string) => http.get(proc.url + path);
  const circuit = async (base: string) => (await readyz(base)).body.upstreams['api']?.circuit;
  const circuitMetric = () => metric(admin, 'sidecache_upstream_circuit_state', { upstream: 'api' });

  const warm = await Promise.all(CACHED.map(get));
  t.ok(warm.every((a) => a.status === 200 && header(a, 'x-cache') === 'MISS'), 'warm-up: every URL fetched and stored');
  t.equal(await circuit(admin), 'closed', 'breaker closed at first');
  t.equal(await circuitMetric(), 0, 'sidecache_upstream_circuit_state 0');
  await sleep(TTL_MS + 200);

  latencyMs = SLOW_MS;
  const slowFrom = counted.length;
  const timedOut = await Promise.all(CACHED.map(get));
  t.ok(
    timedOut.every((a) => a.status === 200 && header(a, 'x-cache') === 'STALE' && a.json<{ version: number }>().version === 1),
    `slow: every request answered 200 STALE with the cached body (${tally(timedOut, (a) => `${a.status}/${header(a, 'x-cache')}/${header(a, 'x-cache-stale-reason')}`)})`,
  );
  t.ok(timedOut.some((a) => header(a, 'x-cache-stale-reason') === 'timeout'), 'stale reason: timeout');
  t.ok(timedOut.every((a) => a.ms < HEADERS_TIMEOUT_MS + UNDICI_TIMER_SLACK_MS + MARGIN_MS), `each within headersTimeout ${HEADERS_TIMEOUT_MS} + timer slack ${UNDICI_TIMER_SLACK_MS} + ${MARGIN_MS} ms (${summary(timedOut)})`);
  t.ok(counted.length - slowFrom >= 5, `${counted.length - slowFrom} slow upstream calls (minimumCalls is 5)`);

  // Five timeouts out of five calls: open.
  await waitFor('the breaker to open', async () => (await circuit(admin)) === 'open', 5_000);
  const openedAt = performance.now();
  t.pass('/readyz (admin listener) shows upstreams.api.circuit "open"');
  t.equal(await circuit(proc.url), 'open', '/readyz on the proxy listener too');
  t.equal(await circuitMetric(), 2, 'sidecache_upstream_circuit_state 2');
  t.ok(((await metric(admin, 'sidecache_upstream_circuit_opens_total', { upstream: 'api' })) ?? 0) >= 1, 'sidecache_upstream_circuit_opens_total counted it');

  const callsWhileOpen = counted.length;
  const open = await Promise.all(CACHED.map(get));
  t.ok(
    open.every((a) => a.status === 200 && header(a, 'x-cache') === 'STALE' && header(a, 'x-cache-stale-reason') === 'circuit_open'),
    `open: stale served with reason circuit_open (${tally(open, (a) => `${a.status}/${header(a, 'x-cache-stale-reason')}`)})`,
  );
  t.ok(open.every((a) => a.ms < 1_000), `open: stale served without waiting for the upstream (${summary(open)})`);
  const cold = await get('/api/items/cold');
  t.equal(cold.status, 503, 'open: an uncached URL fails fast with 503');
  t.equal(cold.json<{ error: string }>().error, 'upstream_circuit_open');
  t.ok(cold.ms < 1_000, `in ${cold.ms.toFixed(0)} ms`);
  t.equal(counted.length, callsWhileOpen, 'no upstream call while the breaker is open');

  // Recovery: fast again, with new data. Ask every 100 ms until fresh data comes back.
  latencyMs = 0;
  version = 2;
  const probes: Answer[] = [];
  const fresh = await waitFor(
    'fresh data after recovery',
    async () => {
      const a = await get(CACHED[0]!);
      probes.push(a);
      return a.status === 200 && header(a, 'x-cache') === 'MISS' ? a : undefined;
    },
    OPEN_FOR_MS + 8_000,
    100,
  );
  const closedAfter = performance.now() - openedAt;
  t.equal(fresh.json<{ version: number }>().version, 2, `fresh data returned ${closedAfter.toFixed(0)} ms after the breaker opened`);
  // The breaker opened a headers timeout after the last slow call arrived; the probe came openFor later.
  const lastSlowCall = callTimes[callsWhileOpen - 1]!;
  const probeCall = callTimes[callsWhileOpen]!;
  t.ok(probeCall - lastSlowCall >= OPEN_FOR_MS, `no upstream call for openFor (${OPEN_FOR_MS} ms): the probe came ${(probeCall - lastSlowCall).toFixed(0)} ms after the last slow call`);
  t.ok(probes.slice(0, -1).every((a) => header(a, 'x-cache') === 'STALE' && header(a, 'x-cache-stale-reason') === 'circuit_open'), `stale (circuit_open) served until then (${probes.length - 1} requests)`);
  t.equal(await circuit(admin), 'closed', 'the probe succeeded: breaker closed');
  t.equal(await circuitMetric(), 0, 'sidecache_upstream_circuit_state back to 0');
  const after = await Promise.all(CACHED.map(get));
  t.ok(
    after.every((a) => a.status === 200 && a.json<{ version: number }>().version === 2),
    `every URL fresh again (${tally(after, (a) => header(a, 'x-cache'))})`,
  );
  t.comment(`drill 2 took ${(performance.now() - started).toFixed(0)} ms`);
});
