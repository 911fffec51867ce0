import t, { type Test } from 'tap';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';
import { startUpstreamProcess } from '../../helpers/upstream-process.js';
import { client, header, UNDICI_TIMER_SLACK_MS, sleep, summary, tally, type Answer } from '../../helpers/drill.js';

/**
 * Drill 1: the upstream goes away. The fake upstream is a child process of its own, frozen
 * (SIGSTOP: connections are accepted by the kernel, nothing answers) and then killed (SIGKILL:
 * connections refused) by PID, while a sidecache process serves a run of requests. Every URL
 * cached in the stale-if-error window answers 200 STALE with the cached body; uncached URLs get
 * 504 once the upstream's headersTimeout has passed (frozen) or 502 at once (dead); nothing waits
 * past the configured timeouts. The breaker is kept out of it (minimumCalls at its maximum).
 */

const TTL_MS = 1_000;
const HEADERS_TIMEOUT_MS = 1_000;
/** Scheduling slack on a shared 2-core machine. */
const MARGIN_MS = 1_500;
const CACHED = Array.from({ length: 10 }, (_, i) => `/api/items/${i}`);
const UNCACHED = Array.from({ length: 4 }, (_, i) => `/api/items/cold-${i}`);

t.test('drill 1: upstream frozen, then killed: cached URLs answer stale, uncached ones fail fast', async (t) => {
  const started = performance.now();
  const upstream = await startUpstreamProcess(t);
  const proc = await startSidecacheProcess(
    t,
    writeConfig(
      t,
      `
server: { host: 127.0.0.1, port: 0 }
cache: { keySecret: drill-1 }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    pool: { connectTimeout: 1s, headersTimeout: ${HEADERS_TIMEOUT_MS}ms, bodyTimeout: 1s }
    protection:
      breaker: { minimumCalls: 100000 }
    rules:
      - { path: /items/:id, scope: shared, ttl: ${TTL_MS}ms, staleWhileRevalidate: 0s, staleIfError: 1h }
`,
    ),
  );
  t.comment(`sidecache and upstream processes up in ${(performance.now() - started).toFixed(0)} ms`);
  const http = client(t);
  const get = (path: string) => http.get(proc.url + path);

  const warm = await Promise.all(CACHED.map(get));
  t.same(warm.map((a) => [a.status, header(a, 'x-cache')]), CACHED.map(() => [200, 'MISS']), 'warm-up: every URL fetched and stored');
  const cachedBody = new Map(CACHED.map((path, i) => [path, warm[i]!.body]));
  await sleep(TTL_MS + 200);
  const callsBefore = upstream.calls.length;

  const checkStale = (t: Test, answers: readonly Answer[], paths: readonly string[], reason: string, label: string) => {
    const wrong = answers.filter((a, i) => a.status !== 200 || header(a, 'x-cache') !== 'STALE' || a.body !== cachedBody.get(paths[i]!) || header(a, 'x-cache-stale-reason') !== reason);
    t.equal(wrong.length, 0, `${label}: all ${answers.length} cached requests answered 200 STALE (${reason}) with the cached body${wrong.length ? `; got ${tally(wrong, (a) => `${a.status}/${header(a, 'x-cache')}/${header(a, 'x-cache-stale-reason')}`)}` : ''}`);
    t.ok(answers.every((a) => /^sidecache; hit; fwd=stale; .*detail=stale-if-error$/.test(header(a, 'cache-status') ?? '')), `${label}: Cache-Status says stale-if-error`);
  };

  await t.test('frozen (SIGSTOP): stale after the headers timeout, 504 for uncached, nothing hangs', async (t) => {
    upstream.freeze();
    const paths = [...CACHED, ...UNCACHED];
    const answers = await Promise.all(paths.map(get));
    const cached = answers.slice(0, CACHED.length);
    const uncached = answers.slice(CACHED.length);
    checkStale(t, cached, CACHED, 'timeout', 'frozen');
    t.same(uncached.map((a) => [a.status, a.json<{ error: string }>().error]), UNCACHED.map(() => [504, 'upstream_timeout']), 'uncached: 504 upstream_timeout');
    const bound = HEADERS_TIMEOUT_MS + UNDICI_TIMER_SLACK_MS + MARGIN_MS;
    t.ok(answers.every((a) => a.ms < bound), `every request ended within headersTimeout ${HEADERS_TIMEOUT_MS} + timer slack ${UNDICI_TIMER_SLACK_MS} + ${MARGIN_MS} ms (${summary(answers)})`);
    t.ok(answers.every((a) => a.ms >= HEADERS_TIMEOUT_MS - 100), 'each waited for the timeout (the upstream was asked, not skipped)');
  });

  await t.test('killed (SIGKILL): a run of requests, stale for cached, 502 at once for uncached', async (t) => {
    await upstream.kill();
    const cached: Answer[] = [];
    const uncached: Answer[] = [];
    const runStarted = performance.now();
    // 5 rounds, 150 ms apart: every cached URL and every uncached one, concurrently.
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all([...CACHED, ...UNCACHED].map(get));
      cached.push(...answers.slice(0, CACHED.length));
      uncached.push(...answers.slice(CACHED.length));
      await sleep(150);
    }
    checkStale(t, cached, Array.from({ length: 5 }, () => CACHED).flat(), 'error', 'killed');
    t.ok(
      uncached.every((a) => a.status === 502 && a.json<{ error: string }>().error === 'upstream_unreachable'),
      `uncached: 502 upstream_unreachable (${tally(uncached, (a) => a.status)})`,
    );
    // A refused connect is retried once after up to 100 ms of jitter; nothing else waits.
    t.ok(uncached.every((a) => a.ms < 1_000), `uncached 502s were quick (${summary(uncached)})`);
    t.ok(cached.every((a) => a.ms < 1_000), `stale answers were quick (${summary(cached)})`);
    t.comment(`run of ${cached.length + uncached.length} requests took ${(performance.now() - runStarted).toFixed(0)} ms`);
  });

  await t.test('upstream back on the same port: fresh data again', async (t) => {
    await upstream.start();
    const answers = await Promise.all(CACHED.map(get));
    t.ok(answers.every((a) => a.status === 200 && header(a, 'x-cache') === 'MISS'), `every cached URL refetched (${tally(answers, (a) => header(a, 'x-cache'))})`);
    t.ok(answers.every((a) => a.json<{ pid: number }>().pid === upstream.pid), 'from the restarted upstream');
    t.ok(upstream.calls.length > callsBefore, 'the upstream was called again');
  });
  t.comment(`drill 1 took ${(performance.now() - started).toFixed(0)} ms`);
});
