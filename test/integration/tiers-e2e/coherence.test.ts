import t from 'tap';
import { postgresOrSkip } from '../../helpers/database.js';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';
import { redisOrSkip } from '../../helpers/redis.js';
import { fmt, httpClient, percentile, redisClient, redisIndexKey, sleep, versionedUpstream, waitFor, type Got } from './helpers.js';

const PATH = '/api/items/shared';
const TARGET_MS = 100;
const POLL_MS = 5;
const POLL_BOUND_MS = 2_000;
const ROUNDS = 5;

const version = (got: Got) => (JSON.parse(got.text()) as { version: number }).version;

t.test('two processes: an overwrite on A reaches B within 100 ms', async (t) => {
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const upstream = await versionedUpstream(t);
  const inspect = redisClient(t, redis.url);
  const get = httpClient(t);
  const config = writeConfig(
    t,
    `
server: { host: 127.0.0.1, port: 0 }
cache:
  keySecret: coherence-secret
  namespace: ${redis.namespace}
  redis: { url: ${JSON.stringify(redis.url)}, readTimeout: 500ms }
  postgres: { enabled: true, readTimeout: 1s }
database: { url: ${JSON.stringify(db.url)} }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    rules:
      - { path: /items/:id, ttl: 10m }
`,
  );
  const [a, b] = await Promise.all([startSidecacheProcess(t, config), startSidecacheProcess(t, config)]);
  // Listens to the bus too, to split each figure into "until the evict message" and "after it".
  const listener = redisClient(t, redis.url);
  let lastMessageAt = Number.NaN;
  listener.on('message', () => {
    lastMessageAt = performance.now();
  });
  await listener.subscribe(`sidecache:${redis.namespace}:bus`);
  const splits: string[] = [];

  // Both serve v1 from memory.
  const first = await get(a.url + PATH);
  t.equal(first.headers['x-cache'], 'MISS');
  t.equal(version(first), 1);
  await waitFor('v1 in Redis', async () => (await inspect.zcard(redisIndexKey(redis.namespace))) === 1);
  const bFirst = await get(b.url + PATH);
  t.equal(bFirst.headers['x-cache-tier'], 'redis', 'B reads v1 from Redis');
  for (const proc of [a, b]) {
    const got = await get(proc.url + PATH);
    t.equal(got.headers['x-cache-tier'], 'memory');
    t.equal(version(got), 1);
  }

  /** Overwrites on A with no-cache; returns ms from A's response to B's first response with the new version. */
  const overwrite = async (expected: number): Promise<number> => {
    lastMessageAt = Number.NaN;
    const refreshed = await get(a.url + PATH, { 'cache-control': 'no-cache' });
    const doneAt = performance.now();
    t.equal(refreshed.headers['x-cache'], 'MISS');
    t.match(refreshed.headers['cache-status'], /fwd=request; fwd-status=200; stored/);
    t.equal(version(refreshed), expected, `A refetched v${expected}`);
    let polls = 0;
    for (;;) {
      const got = await get(b.url + PATH);
      polls++;
      if (version(got) === expected) {
        const ms = performance.now() - doneAt;
        splits.push(`${fmt(ms)} (evict message at ${fmt(lastMessageAt - doneAt)})`);
        t.equal(got.headers['x-cache-tier'], 'redis', `B read v${expected} from Redis after ${polls} polls`);
        return ms;
      }
      t.equal(version(got), expected - 1, 'until then B serves the previous version');
      if (performance.now() - doneAt > POLL_BOUND_MS) throw new Error(`B still served v${version(got)} ${POLL_BOUND_MS} ms after A stored v${expected}`);
      await sleep(POLL_MS);
    }
  };

  // One overwrite first, unmeasured: the first pass through the refresh, upsert, publish and
  // evict paths pays for lazy compilation (tsx) and connection set-up in both processes.
  const warmup = await overwrite(2);
  t.comment(`warm-up overwrite (cold paths): B served v2 ${fmt(warmup)} after A's response`);
  await waitFor('B to hold v2 in memory', async () => {
    const got = await get(b.url + PATH);
    return got.headers['x-cache-tier'] === 'memory' && version(got) === 2;
  });

  // (a) One overwrite.
  const single = await overwrite(3);
  t.comment(`(a) B served v3 ${fmt(single)} after A's no-cache response completed`);
  // One sample is at the mercy of a loaded CI machine: bound it loosely; the target is held on
  // the median of five below.
  t.ok(single <= TARGET_MS * 5, `B serves v3 well within ${TARGET_MS * 5} ms (${fmt(single)}; target ${TARGET_MS} ms)`);

  // (b) Five more, each once B holds the current version in memory again.
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const current = 3 + round;
    await waitFor(`B to hold v${current} in memory`, async () => {
      const got = await get(b.url + PATH);
      return got.headers['x-cache-tier'] === 'memory' && version(got) === current;
    });
    samples.push(await overwrite(current + 1));
  }
  t.comment(`(b) ${ROUNDS} overwrites: min=${fmt(Math.min(...samples))} median=${fmt(percentile(samples, 50))} max=${fmt(Math.max(...samples))} (${samples.map(fmt).join(', ')})`);
  t.comment(`after A's response: ${splits.join(', ')}`);
  // (a) holds the single figure to the target; here the median, so that one sample delayed by a
  // loaded machine (CI runs two files at a time on two cores) does not fail the file.
  t.ok(percentile(samples, 50) <= TARGET_MS, `median overwrite reached B within ${TARGET_MS} ms`);
  t.equal(upstream.calls('/items/shared'), 3 + ROUNDS, 'B never called the upstream');
});
