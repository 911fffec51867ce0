import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { PROTECTION_DEFAULTS } from '../../../src/config/protection.js';
import { head, RawConnection, type RawResponse } from './raw-http.js';

const SLOW_UPLOADERS = 40;
const SLOTS = 8;

/**
 * Issue 11 "Starvation": sockets that announce a large pass-through body and then send a byte
 * now and then used to hold every upstream slot, so everyone else's uncached GETs got 503 until
 * they gave up. Here 40 of them (half with bodies small enough to be received before the upstream
 * call, half large enough to stream) run against an upstream with 8 slots; the timeouts are
 * scaled down (idle 5 s, 1 KB/s after 5 s) so the run takes a few seconds. Other callers read
 * four at a time while they run: had the slow uploads taken every slot, no read could be answered
 * before the first of them timed out.
 */
t.test('slow uploads get 408 and one audit row each while every other caller is served', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { migrate: false });
  const upstream = await startFakeUpstream(async (req, res, body) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, bytes: body.length }));
  });
  t.teardown(() => upstream.close());
  const concurrency = { initial: SLOTS, min: SLOTS, max: SLOTS, latencyTolerance: 2 };
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, protection: { ...PROTECTION_DEFAULTS, concurrency, queueTimeoutMs: 8_000 } }], {
      database: { url: db.url! },
      audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) },
      server: { requestBody: { idleTimeoutMs: 5_000, minBytesPerSecond: 1024, minRateAfterMs: 5_000, bufferUpToBytes: 1024 * 1024 } },
    }),
  );
  t.teardown(() => proxy.app.server.closeAllConnections());
  const port = (proxy.app.server.address() as AddressInfo).port;
  const started = Date.now();

  let firstTimeoutAt = Infinity;
  // A byte every 200 ms: 5 bytes/s, far under the minimum rate.
  const trickles = Array.from({ length: SLOW_UPLOADERS }, async (_, i) => {
    const length = i % 2 === 0 ? 1_000_000 : 5_000_000;
    const connection = await RawConnection.open(port);
    connection.write(head(`POST /api/upload/${i} HTTP/1.1`, 'Host: s', `Content-Length: ${length}`, 'Content-Type: application/octet-stream'));
    const response = connection.readResponse({ timeoutMs: 15_000 });
    const ticker = setInterval(() => !connection.ended && connection.write('x'), 200);
    try {
      const answered = await response;
      firstTimeoutAt = Math.min(firstTimeoutAt, Date.now());
      return answered;
    } finally {
      clearInterval(ticker);
      connection.destroy();
    }
  });
  // Half a body at once, then nothing: the idle timeout.
  const stalls = [0, 1].map(async (i) => {
    const connection = await RawConnection.open(port);
    connection.write(head(`POST /api/stall/${i} HTTP/1.1`, 'Host: s', 'Content-Length: 20000') + 'y'.repeat(10_000));
    try {
      return await connection.readResponse({ timeoutMs: 15_000 });
    } finally {
      connection.destroy();
    }
  });

  // Meanwhile other callers: uncached GETs, and one large upload sent at full speed.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const reads = readInWaves(40, 4, (i) => proxy.fetch(`/api/report/${i}`, { headers: { authorization: `Bearer caller-${i}` } }));
  const fastUpload = proxy.fetch('/api/fast-upload', { method: 'POST', body: Buffer.alloc(3 * 1024 * 1024, 1), headers: { 'content-type': 'application/octet-stream' } });

  const readResults = await reads;
  const readsDoneAt = Date.now();
  t.same(readResults.map((r) => r.status), Array(40).fill(200), 'every other caller\'s uncached GET is answered 200');
  const fast = await fastUpload;
  t.equal(fast.status, 200, 'a fast upload is not mistaken for a slow one');
  t.equal((fast.json() as { bytes: number }).bytes, 3 * 1024 * 1024);

  const slow: RawResponse[] = await Promise.all(trickles);
  const stalled: RawResponse[] = await Promise.all(stalls);
  const elapsed = Date.now() - started;
  t.same(slow.map((r) => r.status), Array(SLOW_UPLOADERS).fill(408), 'every slow upload gets 408');
  t.same(stalled.map((r) => r.status), [408, 408], 'stalled uploads get 408');
  for (const response of [...slow, ...stalled]) {
    t.match(response.json(), { error: 'request_body_timeout', requestId: String }, 'with the JSON error');
    t.ok(response.all('connection').includes('close'), 'and the connection is closed (the rest of the body is never read)');
  }
  t.match((slow[0]!.json() as { message: string }).message, /below the minimum/);
  t.match((stalled[0]!.json() as { message: string }).message, /no request body byte arrived/);
  t.ok(elapsed < 20_000, `the run took ${elapsed} ms`);
  t.ok(readsDoneAt < firstTimeoutAt, `the reads were answered while the slow uploads still held their connections (${readsDoneAt - started} ms < ${firstTimeoutAt - started} ms)`);
  t.notOk(upstream.received.some((r) => r.url.startsWith('/upload') || r.url.startsWith('/stall')), 'no slow body reached the upstream as a complete request');
  t.equal(proxy.health.upstreamGuards!().get('api')!.inFlight, 0, 'every upstream slot came back');
  t.equal(proxy.health.upstreamGuards!().get('api')!.breakerState, 'closed', 'slow clients are not upstream failures');

  const ids = new Set([...slow, ...stalled].map((r) => (r.json() as { requestId: string }).requestId));
  const deadline = Date.now() + 10_000;
  let rows: Array<{ request_id: string; status: number; error_code: string | null }> = [];
  while (Date.now() < deadline) {
    rows = (await db.query<{ request_id: string; status: number; error_code: string | null }>("SELECT request_id, status, error_code FROM audit_logs WHERE error_code = 'request_body_timeout'")).rows;
    if (rows.length >= ids.size) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const { rows: all } = await db.query<{ request_id: string; status: number; error_code: string | null }>('SELECT request_id, status, error_code FROM audit_logs');
  const timedOut = all.filter((r) => ids.has(r.request_id));
  t.equal(timedOut.length, ids.size, 'one audit row per slow upload');
  t.ok(timedOut.every((r) => r.status === 408 && r.error_code === 'request_body_timeout'));
  t.equal(all.length, ids.size + 41, 'and one for each other request');
});

/** `count` requests made by `workers` callers, each sending its next one when the last is answered. */
async function readInWaves<R>(count: number, workers: number, request: (i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await request(i);
      }
    }),
  );
  return results;
}
