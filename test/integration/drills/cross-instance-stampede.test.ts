import t from 'tap';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { startSidecacheProcess, writeConfig, type SidecacheProcess } from '../../helpers/process.js';
import { redisServerOrSkip } from '../../helpers/redis.js';
import { client, header, readyz, sleep, summary, tally, waitFor, type Answer } from '../../helpers/drill.js';

/**
 * Drill 6: a stampede across instances. Two sidecache processes share a private redis-server
 * (its own port, stopped by PID); 500 concurrent requests for one cold URL, split evenly between
 * them, cost exactly one upstream call: inside an instance the in-process single flight collapses
 * them, across instances the Redis fill lease does. The fake upstream is an in-test server (slow:
 * 300 ms, so the requests really overlap).
 *
 * 6b then freezes Redis (SIGSTOP by PID) for a moment while one instance reads: that one timed-out
 * read must not cost the next stampede a second upstream call (the lease is skipped only while
 * the tier's breaker is open or lease calls themselves keep failing, not for a degraded tier).
 */

const REQUESTS = 500;
const UPSTREAM_DELAY_MS = 300;
/**
 * 500 connections arriving at once stall a process's event loop on a shared 2-core machine for
 * hundreds of ms; a Redis read that "takes" longer than readTimeout marks the tier degraded, which
 * turns the fill lease off (6b). 2 s keeps event-loop stalls out of the main drill.
 */
const READ_TIMEOUT_MS = 2_000;


const outcome = (a: Answer) => `${header(a, 'x-cache')}${/filled-by-peer/.test(header(a, 'cache-status') ?? '') ? ' (filled by peer)' : ''}`;

t.test('drill 6: cross-instance single flight', async (t) => {
  const started = performance.now();
  const redis = await redisServerOrSkip(t);
  if (redis === null) return;
  const upstream = await startFakeUpstream(async (_req, res) => {
    await sleep(UPSTREAM_DELAY_MS);
    res.setHeader('content-type', 'application/json');
    res.end('{"filled":true}');
  });
  t.teardown(() => upstream.close());
  const path = writeConfig(
    t,
    `
server: { host: 127.0.0.1, port: 0 }
cache:
  keySecret: drill-6
  namespace: drill6
  redis: { url: "${redis.url}", readTimeout: ${READ_TIMEOUT_MS}ms }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    rules:
      - { path: /items/:id, scope: shared, ttl: 10m }
`,
  );
  const [a, b] = (await Promise.all([startSidecacheProcess(t, path), startSidecacheProcess(t, path)])) as [SidecacheProcess, SidecacheProcess];
  t.comment(`redis-server and two sidecache processes up in ${(performance.now() - started).toFixed(0)} ms`);
  const redisHealth = async (proc: SidecacheProcess) => (await readyz(proc.url)).body.tiers['redis'];
  // One connection per request: all 500 are in flight at once.
  const http = client(t, { connections: REQUESTS });

  await t.test('500 concurrent identical cold requests split across both: one upstream call', async (t) => {
    // A Redis tier that saw any error in its first moments (once seen here on a loaded machine,
    // before any request) reports "degraded" for 30 s, and skips the fill lease meanwhile (6b).
    // That is the bug 6b reports; here it is waited out (rarely needed), so this drill tests the lease.
    const waitStarted = performance.now();
    await waitFor('Redis tier "up" on both instances', async () => (await redisHealth(a)) === 'up' && (await redisHealth(b)) === 'up', 35_000, 250);
    const waited = performance.now() - waitStarted;
    if (waited > 1_000) {
      t.comment(`waited ${waited.toFixed(0)} ms for the Redis tiers to stop reporting "degraded"; warnings logged:`);
      for (const line of [...a.output, ...b.output].filter((l) => /"level":(40|50)/.test(l))) t.comment(line.slice(0, 400));
    }
    const burst = performance.now();
    const answers = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => http.get(`${(i % 2 === 0 ? a : b).url}/api/items/stampede`)));
    t.comment(`500 requests answered in ${(performance.now() - burst).toFixed(0)} ms (${summary(answers)})`);
    t.equal(upstream.received.length, 1, 'exactly one upstream call across both instances');
    const wrong = answers.filter((x) => x.status !== 200 || x.body !== '{"filled":true}');
    t.equal(wrong.length, 0, `all ${REQUESTS} answered 200 with the body${wrong.length ? `; got ${tally(wrong, (x) => x.status || x.error)}` : ''}`);
    t.comment(`instance A: ${tally(answers.filter((_, i) => i % 2 === 0), outcome)}; instance B: ${tally(answers.filter((_, i) => i % 2 === 1), outcome)}`);
    t.ok(answers.some((x) => /filled-by-peer/.test(header(x, 'cache-status') ?? '')), 'one instance filled the entry, the other read the peer fill from Redis');
    const again = await Promise.all([a, b].map((proc) => http.get(`${proc.url}/api/items/stampede`)));
    t.same(again.map((x) => header(x, 'x-cache')), ['HIT', 'HIT'], 'both instances now hit');
    t.equal(upstream.received.length, 1, 'still one upstream call');
  });

  await t.test('6b: a Redis hiccup seen by one instance, then a stampede: still one upstream call', async (t) => {
    // Redis frozen by PID for readTimeout + 300 ms while instance A reads one other key.
    const pid = redis.pid;
    let frozen = true;
    process.kill(pid, 'SIGSTOP');
    const thaw = () => {
      if (frozen) process.kill(pid, 'SIGCONT');
      frozen = false;
    };
    t.teardown(thaw);
    const during = await http.get(`${a.url}/api/items/other`);
    await sleep(Math.max(0, READ_TIMEOUT_MS + 300 - during.ms));
    thaw();
    t.equal(during.status, 200, 'the read that timed out became a miss, answered from the upstream');
    await waitFor('B to see Redis up', async () => (await redisHealth(b)) === 'up', 5_000);
    t.comment(`after the hiccup: A's Redis tier ${await redisHealth(a)}, B's ${await redisHealth(b)} (A's Redis breaker is still closed: 1 failure)`);

    const callsBefore = upstream.received.length;
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => http.get(`${(i % 2 === 0 ? a : b).url}/api/items/stampede-2`)));
    t.ok(answers.every((x) => x.status === 200), 'every request answered');
    const calls = upstream.received.length - callsBefore;
    t.comment(`instance A: ${tally(answers.filter((_, i) => i % 2 === 0), outcome)}; instance B: ${tally(answers.filter((_, i) => i % 2 === 1), outcome)}`);
    t.equal(calls, 1, `one upstream call for 100 concurrent cold requests across both instances (got ${calls})`);
  });
  t.comment(`drill 6 took ${(performance.now() - started).toFixed(0)} ms`);
});
