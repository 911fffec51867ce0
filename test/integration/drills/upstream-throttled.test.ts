import t from 'tap';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';
import { adminUrl, client, header, metric, readyz, sleep, summary, tally, type Answer } from '../../helpers/drill.js';

/**
 * Drill 3: the upstream runs out of quota and answers 429 with `Retry-After: 2`. The fake
 * upstream is an in-test server (its answer is switched; nothing is killed) that timestamps every
 * call. From that 429 until the two seconds have passed sidecache makes no upstream call at all:
 * cached URLs answer 200 STALE (rate_limited), uncached ones 503 `upstream_throttled` with a
 * Retry-After of their own. After the pause the upstream is called again and fresh data returns.
 */

const TTL_MS = 1_000;
const RETRY_AFTER_S = 2;
const CACHED = Array.from({ length: 6 }, (_, i) => `/api/items/${i}`);

t.test('drill 3: 429 + Retry-After: no upstream call until it passes, stale served meanwhile', async (t) => {
  const started = performance.now();
  let mode: 'ok' | 'throttled' = 'ok';
  let version = 1;
  const calls: { at: number; url: string; answered: number }[] = [];
  const upstream = await startFakeUpstream((req, res) => {
    const at = performance.now();
    if (mode === 'throttled') {
      calls.push({ at, url: req.url!, answered: 429 });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(RETRY_AFTER_S) });
      res.end('{"error":"quota exceeded"}');
      return;
    }
    calls.push({ at, url: req.url!, answered: 200 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, version }));
  });
  t.teardown(() => upstream.close());
  const proc = await startSidecacheProcess(
    t,
    writeConfig(
      t,
      `
server: { host: 127.0.0.1, port: 0 }
cache: { keySecret: drill-3 }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    protection: { retryAfterMax: 1m, retryAfterDefault: 30s }
    rules:
      - { path: /items/:id, scope: shared, ttl: ${TTL_MS}ms, staleWhileRevalidate: 0s, staleIfError: 1h }
`,
    ),
  );
  const admin = await adminUrl(proc);
  t.comment(`sidecache up in ${(performance.now() - started).toFixed(0)} ms`);
  const http = client(t);
  const get = (path: string) => http.get(proc.url + path);

  const warm = await Promise.all(CACHED.map(get));
  t.ok(warm.every((a) => a.status === 200 && header(a, 'x-cache') === 'MISS'), 'warm-up: every URL fetched and stored');
  await sleep(TTL_MS + 200);

  mode = 'throttled';
  const first = await get(CACHED[0]!);
  const throttle = calls.at(-1)!;
  t.equal(throttle.answered, 429, 'the upstream answered 429');
  t.equal(first.status, 200, 'the 429 itself is answered with stale data');
  t.equal(header(first, 'x-cache'), 'STALE');
  t.equal(header(first, 'x-cache-stale-reason'), 'rate_limited');
  t.equal(header(first, 'cache-status'), 'sidecache; hit; fwd=stale; fwd-status=429; detail=stale-if-error');
  const callsAtPause = calls.length;

  const ready = await readyz(admin);
  t.ok((ready.body.upstreams['api']?.pausedForMs ?? 0) > 0, `/readyz shows the pause (pausedForMs ${ready.body.upstreams['api']?.pausedForMs})`);
  t.ok(((await metric(admin, 'sidecache_upstream_paused_seconds', { upstream: 'api' })) ?? 0) > 0, 'sidecache_upstream_paused_seconds > 0');

  // Until 300 ms before the pause ends: every cached URL and one uncached URL, every 100 ms.
  const stale: Answer[] = [];
  const refused: Answer[] = [];
  for (let round = 0; round < 40 && performance.now() < throttle.at + RETRY_AFTER_S * 1000 - 300; round++) {
    const answers = await Promise.all([...CACHED, `/api/items/cold-${round}`].map(get));
    stale.push(...answers.slice(0, CACHED.length));
    refused.push(answers[CACHED.length]!);
    await sleep(100);
  }
  t.ok(stale.length >= CACHED.length * 5, `${stale.length} cached requests during the pause`);
  t.ok(
    stale.every((a) => a.status === 200 && header(a, 'x-cache') === 'STALE' && header(a, 'x-cache-stale-reason') === 'rate_limited' && a.json<{ version: number }>().version === 1),
    `paused: all answered 200 STALE rate_limited with the cached body (${tally(stale, (a) => `${a.status}/${header(a, 'x-cache')}/${header(a, 'x-cache-stale-reason')}`)})`,
  );
  t.ok(stale.every((a) => a.ms < 1_000), `stale at once (${summary(stale)})`);
  t.ok(
    refused.every((a) => a.status === 503 && a.json<{ error: string }>().error === 'upstream_throttled' && Number(header(a, 'retry-after')) >= 1),
    `uncached: 503 upstream_throttled with Retry-After (${tally(refused, (a) => `${a.status}/${header(a, 'retry-after')}`)})`,
  );
  t.equal(calls.length, callsAtPause, 'no upstream call during the pause');

  // After the pause: calls resume, fresh data returns.
  mode = 'ok';
  version = 2;
  await sleep(Math.max(0, throttle.at + RETRY_AFTER_S * 1000 + 300 - performance.now()));
  const after = await get(CACHED[0]!);
  t.equal(after.status, 200);
  t.equal(header(after, 'x-cache'), 'MISS', 'the upstream is called again once Retry-After has passed');
  t.equal(after.json<{ version: number }>().version, 2, 'fresh data');
  const next = calls.slice(callsAtPause);
  t.equal(next.length, 1, 'one call for one request');
  t.ok(next[0]!.at - throttle.at >= RETRY_AFTER_S * 1000, `first call after the 429 came ${(next[0]!.at - throttle.at).toFixed(0)} ms later (Retry-After ${RETRY_AFTER_S} s)`);
  t.equal((await readyz(admin)).body.upstreams['api']?.pausedForMs, 0, 'pause over in /readyz');
  t.comment(`drill 3 took ${(performance.now() - started).toFixed(0)} ms`);
});
