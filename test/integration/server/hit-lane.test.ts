import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { setImmediate as nextImmediate } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { waitFor } from '../audit/helpers.js';

/** Response headers that differ on every response whichever path serves it. */
const PER_RESPONSE = new Set(['x-request-id', 'date', 'keep-alive', 'connection']);

function comparable(headers: Record<string, string | string[] | undefined>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_RESPONSE.has(name)));
}

async function itemsUpstream(t: Test) {
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('etag', '"v1"');
    res.setHeader('link', ['<a>; rel="a"', '<b>; rel="b"']);
    res.end(JSON.stringify({ url: req.url, auth: req.headers.authorization ?? null }));
  });
  t.teardown(() => upstream.close());
  return upstream;
}

/** A proxy that caches /items/:id for every caller, with /api/items/1 already cached. */
async function proxyWithSharedHit(t: Test, options?: Parameters<typeof startProxy>[2]) {
  const upstream = await itemsUpstream(t);
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared' }] }]), options);
  await proxy.fetch('/api/items/1');
  return { upstream, proxy };
}

for (const [directHitWrites, batchHitWrites] of [[true, true], [true, false], [false, true], [false, false]] as const) {
  const how = `${directHitWrites ? 'written to the socket' : "written through node's writeHead"}, ${batchHitWrites ? 'at the end of the turn' : 'at once'}`;
  t.test(`a fresh memory hit is answered by the lane with the same status, headers and body as the full path (${how})`, async (t) => {
    const upstream = await itemsUpstream(t);
    const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared' }] }], { server: { directHitWrites, batchHitWrites } }));

    const miss = await proxy.fetch('/api/items/1?b=2&a=1');
    t.equal(miss.headers['x-cache'], 'MISS');
    t.equal(proxy.hitLane.served, 0, 'a miss is left to Fastify');

    const laneHit = await proxy.fetch('/api/items/1?a=1&b=2');
    t.equal(proxy.hitLane.served, 1, 'the hit went down the lane');
    t.equal(laneHit.status, 200);
    t.equal(laneHit.headers['x-cache'], 'HIT');
    t.equal(laneHit.headers['x-cache-tier'], 'memory');
    t.match(laneHit.headers['cache-status'], /^sidecache; hit; ttl=\d+$/);
    t.match(laneHit.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    t.same(laneHit.body, miss.body);
    t.same(laneHit.headers['link'], ['<a>; rel="a"', '<b>; rel="b"'], 'repeated fields stay repeated');

    // A validator that does not match sends the same request down the full path, which answers 200.
    const fullPathHit = await proxy.fetch('/api/items/1?a=1&b=2', { headers: { 'if-none-match': '"other"' } });
    t.equal(proxy.hitLane.served, 1, 'conditional requests are left to Fastify');
    t.equal(fullPathHit.status, 200);
    t.same(comparable(laneHit.headers), comparable(fullPathHit.headers), 'both paths send the same fields');
    t.same(fullPathHit.body, laneHit.body);

    const echoed = await proxy.fetch('/api/items/1?a=1&b=2', { headers: { 'x-request-id': 'caller-chosen-id' } });
    t.equal(echoed.headers['x-request-id'], 'caller-chosen-id', "the caller's request id is kept, as on the full path");
    t.equal(upstream.received.length, 1, 'one upstream call in all');
    t.same(proxy.stack.memoryLookups, { hits: 3, misses: 1 }, 'each look-up counted once, whichever path served it');
  });
}

t.test('the lane keeps partitions apart: a credential never reads another credential\'s entry', async (t) => {
  const upstream = await itemsUpstream(t);
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'authorization' }] }]));
  const alice = { authorization: 'Bearer alice' };
  const bob = { authorization: 'Bearer bob' };
  await proxy.fetch('/api/items/1', { headers: alice });
  const aliceHit = await proxy.fetch('/api/items/1', { headers: alice });
  t.equal(aliceHit.headers['x-cache'], 'HIT');
  t.equal(proxy.hitLane.served, 1);
  const bobRead = await proxy.fetch('/api/items/1', { headers: bob });
  t.equal(bobRead.headers['x-cache'], 'MISS', "bob's first read misses");
  t.same(bobRead.json(), { url: '/items/1', auth: 'Bearer bob' });
  const anonymous = await proxy.fetch('/api/items/1');
  t.equal(anonymous.headers['x-cache'], 'MISS');
  t.same(anonymous.json(), { url: '/items/1', auth: null });
  t.equal(upstream.received.length, 3);
  // Alternating partitions on one URL: the lane remembers one key per URL and partition, and
  // every hit still reads its own partition's entry.
  for (const [headers, auth] of [[alice, 'Bearer alice'], [bob, 'Bearer bob'], [alice, 'Bearer alice'], [{}, null], [bob, 'Bearer bob']] as const) {
    const got = await proxy.fetch('/api/items/1', { headers });
    t.equal(got.headers['x-cache'], 'HIT');
    t.same(got.json(), { url: '/items/1', auth }, `${auth ?? 'anonymous'} reads its own entry`);
  }
  t.equal(proxy.hitLane.served, 6, 'all five from the lane');
  t.equal(upstream.received.length, 3);
});

t.test('everything but a fresh memory hit of a plain GET is left to the full path', async (t) => {
  let now = 1_000_000;
  const upstream = await itemsUpstream(t);
  const proxy = await startProxy(
    t,
    testConfig(
      [
        {
          target: upstream.url,
          rules: [
            { path: '/items/:id', scope: 'shared', ttlMs: 10_000, staleWhileRevalidateMs: 60_000 },
            { path: '/mine/:id', scope: 'session' },
            { path: '/search', methods: ['POST'], bodyKey: true, scope: 'shared' },
          ],
        },
        { name: 'limited', prefix: '/limited', target: upstream.url, rateLimit: { by: 'ip', capacity: 100, refillPerSecond: 100, exemptHits: false, maxSubjects: 10, redisTimeoutMs: 50 }, rules: [{ path: '/items/:id', scope: 'shared' }] },
      ],
      { sessions: { mint: false } },
    ),
    { now: () => now },
  );
  await proxy.fetch('/api/items/1');
  const offLane: Array<[string, Parameters<typeof proxy.fetch>[1]]> = [
    ['no-cache', { headers: { 'cache-control': 'no-cache' } }],
    ['pragma', { headers: { pragma: 'no-cache' } }],
    ['HEAD', { method: 'HEAD' }],
    ['if-modified-since', { headers: { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' } }],
  ];
  for (const [name, init] of offLane) {
    await proxy.fetch('/api/items/1', init);
    t.equal(proxy.hitLane.served, 0, `${name}: full path`);
  }
  await proxy.fetch('/api/items/1');
  t.equal(proxy.hitLane.served, 1, 'the same read without them takes the lane');

  now += 20_000; // past the ttl, inside stale-while-revalidate
  const stale = await proxy.fetch('/api/items/1');
  t.equal(stale.headers['x-cache'], 'STALE', 'a stale entry is served by the full path, which refreshes it');
  t.equal(proxy.hitLane.served, 1);

  await proxy.fetch('/api/mine/1', { headers: { 'x-session-token': 'tok-1' } });
  const sessionHit = await proxy.fetch('/api/mine/1', { headers: { 'x-session-token': 'tok-1' } });
  t.equal(sessionHit.headers['x-cache'], 'HIT');
  t.equal(proxy.hitLane.served, 2, 'a session-scoped hit with a valid token takes the lane');
  const noToken = await proxy.fetch('/api/mine/1');
  t.equal(noToken.headers['x-cache'], 'BYPASS', 'no token: the full path bypasses the cache');
  const badToken = await proxy.fetch('/api/mine/1', { headers: { 'x-session-token': 'bad token' } });
  t.equal(badToken.status, 400, 'an invalid token is refused by the full path');
  t.equal(proxy.hitLane.served, 2);

  await proxy.fetch('/limited/items/1');
  const limitedHit = await proxy.fetch('/limited/items/1');
  t.equal(limitedHit.headers['x-cache'], 'HIT');
  t.equal(proxy.hitLane.served, 2, 'a caller limit that counts hits keeps them on the full path');

  const unsafe = await proxy.fetch('/api/items/1%00');
  t.equal(unsafe.status, 400, 'unsafe targets are refused by the full path');
  t.equal((unsafe.json() as { error: string }).error, 'invalid_path');
});

t.test('a lane hit writes one audit row and one metrics observation', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const schemaDb = await target.open(t, { migrate: false });
  const upstream = await itemsUpstream(t);
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'authorization', action: 'item.read', resourceType: 'item', resourceId: '{id}' }] }], {
      database: { url: schemaDb.url! },
      audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
    }),
  );
  const identity = { authorization: 'Bearer SECRET', 'x-session-token': 'tok-lane-1', 'x-user-id': 'alice', 'user-agent': 'lane-test/1' };
  await proxy.fetch('/api/items/7?token=hunter2&x=1', { headers: identity });
  const hit = await proxy.fetch('/api/items/7?token=hunter2&x=1', { headers: identity });
  t.equal(proxy.hitLane.served, 1);
  await proxy.audit!.flush();
  const select = () =>
    schemaDb.query<Record<string, unknown>>(
      'SELECT request_id, session_id, user_identifier, upstream, method, path, query, action, resource_type, resource_id, status, cache_outcome, cache_tier, response_bytes::int AS response_bytes, client_ip, user_agent, total_ms FROM audit_logs WHERE request_id = $1',
      [hit.headers['x-request-id']],
    );
  // A batch written before the database finished migrating is spooled and replayed a moment later;
  // until the proxy's migration has run, audit_logs does not exist yet (42P01).
  const rowWritten = async () => {
    try {
      return (await select()).rows.length > 0;
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') return false;
      throw error;
    }
  };
  await waitFor(t, 'the lane hit\'s audit row', rowWritten);
  const { rows } = await select();
  t.equal(rows.length, 1, 'exactly one row for the lane hit');
  const row = rows[0]!;
  t.match(row, {
    upstream: 'api',
    method: 'GET',
    path: '/items/7',
    query: 'token=[REDACTED]&x=1',
    action: 'item.read',
    resource_type: 'item',
    resource_id: '7',
    status: 200,
    cache_outcome: 'HIT',
    cache_tier: 'memory',
    response_bytes: hit.body.length,
    user_identifier: 'alice',
    client_ip: '127.0.0.1',
    user_agent: 'lane-test/1',
  });
  t.match(row['session_id'], /^[0-9a-f-]{36}$/, 'the session is resolved on the lane too');
  t.notMatch(JSON.stringify(row), /SECRET|hunter2/, 'no credential or secret query value');

  const metrics = await proxy.metrics.registry.getSingleMetric('sidecache_requests_total')!.get();
  const hits = metrics.values.find((v) => v.labels['cache'] === 'hit');
  t.equal(hits?.value, 1, 'the lane hit is counted once');
});

t.test('the lane keys by vary header values, never by the URL alone', async (t) => {
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ accept: req.headers.accept ?? null }));
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'shared' }] }]));
  const reads: Array<Record<string, string>> = [{ accept: 'application/json' }, { accept: 'text/plain' }, {}];
  for (let round = 0; round < 2; round++) {
    for (const headers of reads) {
      const response = await proxy.fetch('/api/items/1', { headers });
      t.same(response.json(), { accept: headers['accept'] ?? null }, `round ${round}: the answer for accept=${headers['accept'] ?? '(none)'}`);
      t.equal(response.headers['x-cache'], round === 0 ? 'MISS' : 'HIT');
    }
  }
  t.equal(proxy.hitLane.served, 3);
  t.equal(upstream.received.length, 3);
});

t.test('an unexpected error in the lane never takes the process down', async (t) => {
  const { upstream, proxy } = await proxyWithSharedHit(t);

  const memoryEntry = proxy.stack.memoryEntry.bind(proxy.stack);
  proxy.stack.memoryEntry = () => {
    throw new Error('boom before writing');
  };
  const takenOver = await proxy.fetch('/api/items/1');
  t.equal(takenOver.status, 200, 'nothing written yet: the full path serves it');
  t.equal(takenOver.headers['x-cache'], 'HIT');
  t.equal(proxy.hitLane.served, 0);
  proxy.stack.memoryEntry = memoryEntry;

  const requestCompleted = proxy.metrics.requestCompleted.bind(proxy.metrics);
  proxy.metrics.requestCompleted = () => {
    throw new Error('boom after writing');
  };
  const answered = await proxy.fetch('/api/items/1');
  t.equal(answered.status, 200, 'the response already sent stands');
  t.equal(answered.headers['x-cache'], 'HIT');
  proxy.metrics.requestCompleted = requestCompleted;
  const after = await proxy.fetch('/api/items/1');
  t.equal(after.status, 200, 'and the process keeps serving');
  t.equal(upstream.received.length, 1);
});

/** A request and response the lane can be handed directly, recording what is written to it. */
function fakeExchange(url: string, headers: Record<string, string> = {}) {
  const socket = { remoteAddress: '127.0.0.1', destroyed: false };
  const req = { method: 'GET', url, httpVersion: '1.1', headers: { host: 'lane.test', ...headers }, rawHeaders: ['host', 'lane.test', ...Object.entries(headers).flat()], socket } as unknown as IncomingMessage;
  const written: { status?: number; head?: unknown[]; body?: Buffer } = {};
  const res = {
    headersSent: false,
    writeHead(status: number, head: unknown[]) {
      written.status = status;
      written.head = head;
      res.headersSent = true;
      return res;
    },
    end(body: Buffer) {
      written.body = body;
      return res;
    },
  };
  return { req, res: res as unknown as ServerResponse, socket, written, fake: res };
}

const noFallback = () => {
  throw new Error('handed to the full path');
};

/** The proxy's request metrics as (status, cache) pairs, observed by replacing requestCompleted. */
function observeCompletions(proxy: RunningProxy): Array<{ status: number; cache: string | null }> {
  const seen: Array<{ status: number; cache: string | null }> = [];
  const requestCompleted = proxy.metrics.requestCompleted.bind(proxy.metrics);
  proxy.metrics.requestCompleted = (upstream, method, status, cache, seconds, tier) => {
    seen.push({ status, cache });
    requestCompleted(upstream, method, status, cache, seconds, tier);
  };
  return seen;
}

t.test('the hits of one turn are answered together at its end, each with its own entry, and reported then', async (t) => {
  const upstream = await itemsUpstream(t);
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'authorization' }] }]));
  await proxy.fetch('/api/items/1', { headers: { authorization: 'Bearer alice' } });
  await proxy.fetch('/api/items/1', { headers: { authorization: 'Bearer bob' } });
  const completions = observeCompletions(proxy);

  const exchanges = ['alice', 'bob', 'alice'].map((who) => ({ who, ...fakeExchange('/api/items/1', { authorization: `Bearer ${who}` }) }));
  for (const { req, res } of exchanges) t.ok(proxy.hitLane.serve(req, res, noFallback), 'taken by the lane');
  t.ok(exchanges.every(({ written }) => written.status === undefined), 'nothing written during the turn that decided them');
  t.same(completions, [], 'nor reported');

  await nextImmediate();
  for (const { who, written } of exchanges) {
    t.equal(written.status, 200);
    t.same(JSON.parse(written.body!.toString('utf8')), { url: '/items/1', auth: `Bearer ${who}` }, `${who} gets their own entry`);
  }
  t.same(completions, [{ status: 200, cache: 'HIT' }, { status: 200, cache: 'HIT' }, { status: 200, cache: 'HIT' }], 'one report each, after writing');
  t.equal(proxy.hitLane.served, 3);
  t.equal(upstream.received.length, 2);
});

t.test('a client that leaves while its answer waits for the turn end gets nothing written and is reported as gone', async (t) => {
  const { upstream, proxy } = await proxyWithSharedHit(t);
  const completions = observeCompletions(proxy);
  const left = fakeExchange('/api/items/1');
  const stayed = fakeExchange('/api/items/1');
  t.ok(proxy.hitLane.serve(left.req, left.res, noFallback));
  t.ok(proxy.hitLane.serve(stayed.req, stayed.res, noFallback));
  left.socket.destroyed = true;
  await nextImmediate();
  t.same(left.written, {}, 'nothing written to a closed connection');
  t.equal(stayed.written.status, 200);
  t.same(completions, [{ status: 0, cache: 'HIT' }, { status: 200, cache: 'HIT' }], 'status 0 for the client that left (client_aborted), as on the full path');
  t.equal(proxy.hitLane.served, 1, 'only the answer written counts as served');
});

t.test('a failure at the turn end before writing hands the request to the full path; after writing, the answer stands', async (t) => {
  const errors: string[] = [];
  const { proxy } = await proxyWithSharedHit(t, { logger: { level: 'error', stream: { write: (line: string) => errors.push(JSON.parse(line).msg as string) } } });

  const beforeWriting = fakeExchange('/api/items/1');
  Object.defineProperty(beforeWriting.socket, 'destroyed', { get: () => { throw new Error('boom before writing'); } });
  const handedOver: unknown[] = [];
  const afterWriting = fakeExchange('/api/items/1');
  afterWriting.fake.end = () => {
    throw new Error('boom after writing');
  };
  const fine = fakeExchange('/api/items/1');
  t.ok(proxy.hitLane.serve(beforeWriting.req, beforeWriting.res, (req, res) => handedOver.push([req, res])));
  t.ok(proxy.hitLane.serve(afterWriting.req, afterWriting.res, noFallback));
  t.ok(proxy.hitLane.serve(fine.req, fine.res, noFallback));
  await nextImmediate();

  t.same(handedOver, [[beforeWriting.req, beforeWriting.res]], 'nothing written yet: the full path takes it over');
  t.equal(afterWriting.written.status, 200, 'the head already went out');
  t.equal(fine.written.status, 200, 'the hits after a failure are still answered');
  t.same(errors, [
    'hit lane failed before writing; the full path serves the request',
    'hit lane failed after the response was sent, or handing the request to the full path failed',
  ]);
});

t.test('pipelined and concurrent hits with different credentials each get their own entry', async (t) => {
  const upstream = await itemsUpstream(t);
  const proxy = await startProxy(t, testConfig([{ target: upstream.url, rules: [{ path: '/items/:id', scope: 'authorization' }] }]));
  const who = ['alice', 'bob', 'carol'];
  for (const name of who) await proxy.fetch('/api/items/1', { headers: { authorization: `Bearer ${name}` } });

  // One write holding five requests: the listener reads them in one turn.
  const order = ['alice', 'bob', 'alice', 'carol', 'bob'];
  const requests = order.map((name, i) => `GET /api/items/1 HTTP/1.1\r\nHost: lane.test\r\nAuthorization: Bearer ${name}\r\n${i === order.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
  const { port } = new URL(proxy.url);
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(requests));
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text)).on('error', reject);
  });
  const answered = [...raw.matchAll(/"auth":"Bearer (\w+)"/g)].map((m) => m[1]);
  t.same(answered, order, 'pipelined answers in request order, each from its own partition');
  t.equal(raw.match(/x-cache: HIT/gi)?.length, order.length);

  const concurrent = await Promise.all(Array.from({ length: 30 }, (_, i) => who[i % who.length]!).map(async (name) => ({ name, response: await proxy.fetch('/api/items/1', { headers: { authorization: `Bearer ${name}` } }) })));
  for (const { name, response } of concurrent) t.same(response.json(), { url: '/items/1', auth: `Bearer ${name}` }, `${name} reads their own entry`);
  t.equal(proxy.hitLane.served, order.length + concurrent.length, 'every one from the lane (the pipelined ones behind the first, and the closing one, through writeHead)');
  t.equal(upstream.received.length, who.length, 'no upstream call after the fills');
});
