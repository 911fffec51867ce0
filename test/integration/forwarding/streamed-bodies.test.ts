import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const CHUNK = 64 * 1024;
const TOTAL = 50 * 1024 * 1024;
const MAX_GROWTH = 40 * 1024 * 1024;
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** 64 KB chunks, each distinct, hashed as they are produced; never holds more than one chunk. */
function generated(total: number): { stream: Readable; sha256: () => string; produced: () => number } {
  const seed = randomBytes(CHUNK);
  const hash = createHash('sha256');
  let sent = 0;
  let index = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(seed.subarray(0, Math.min(CHUNK, total - sent)));
      chunk.writeUInt32BE(index++, 0);
      hash.update(chunk);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex'), produced: () => sent };
}

/** Samples live rss and arrayBuffers every 20 ms (GC before each sample) and reports peak growth over a GC'd baseline. */
function memoryWatch(): { stop: () => { rss: number; arrayBuffers: number } } {
  gc();
  const base = process.memoryUsage();
  let peak = { rss: base.rss, arrayBuffers: base.arrayBuffers };
  const sample = () => {
    // Collect first: the figure that matters is live memory, not garbage awaiting a GC.
    gc();
    const now = process.memoryUsage();
    peak = { rss: Math.max(peak.rss, now.rss), arrayBuffers: Math.max(peak.arrayBuffers, now.arrayBuffers) };
  };
  const timer = setInterval(sample, 20);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { rss: peak.rss - base.rss, arrayBuffers: peak.arrayBuffers - base.arrayBuffers };
    },
  };
}

/** Reads a body to the end, hashing it; `ahead` reports the most bytes the producer was in front. */
async function drain(body: AsyncIterable<Buffer>, produced?: () => number): Promise<{ bytes: number; sha256: string; ahead: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let ahead = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
    if (produced !== undefined) ahead = Math.max(ahead, produced() - bytes);
  }
  return { bytes, sha256: hash.digest('hex'), ahead };
}

function report(t: Test, label: string, growth: { rss: number; arrayBuffers: number }): void {
  t.comment(`${label}: peak growth rss ${(growth.rss / MB).toFixed(1)} MB, arrayBuffers ${(growth.arrayBuffers / MB).toFixed(1)} MB`);
  t.ok(growth.rss < MAX_GROWTH, `${label}: rss grew ${(growth.rss / MB).toFixed(1)} MB (< ${MAX_GROWTH / MB} MB)`);
  t.ok(growth.arrayBuffers < MAX_GROWTH, `${label}: arrayBuffers grew ${(growth.arrayBuffers / MB).toFixed(1)} MB (< ${MAX_GROWTH / MB} MB)`);
}

t.test('a 50 MB upload streams through and back with bounded memory', { timeout: 60_000 }, async (t) => {
  const upstream = await startFakeUpstream();
  upstream.streamEcho();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const agent = new Agent();
  t.teardown(() => agent.close());

  // Warm up sockets, JIT and buffers first, so the measurement is the streaming itself.
  const warm = await request(`${proxy.url}/api/upload`, { dispatcher: agent, method: 'POST', body: generated(4 * MB).stream });
  await drain(warm.body);

  const source = generated(TOTAL);
  const watch = memoryWatch();
  const response = await request(`${proxy.url}/api/upload`, {
    dispatcher: agent,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) },
    body: source.stream,
  });
  const echoed = await drain(response.body, source.produced);
  const growth = watch.stop();

  t.equal(response.statusCode, 200);
  t.equal(upstream.received.at(-1)!.headers['content-length'], String(TOTAL), 'content-length forwarded');
  t.equal(echoed.bytes, TOTAL);
  t.equal(echoed.sha256, source.sha256(), 'sha256 matches end to end');
  t.comment(`upload+echo: the producer ran at most ${(echoed.ahead / MB).toFixed(1)} MB ahead of the consumer`);
  t.ok(echoed.ahead < 16 * MB, 'backpressure holds the producer to a bounded lead over the consumer');
  report(t, 'upload+echo', growth);
});

t.test('a 50 MB download streams through with bounded memory', { timeout: 60_000 }, async (t) => {
  let sentSha = '';
  const upstream = await startFakeUpstream((_req, res) => {
    const source = generated(TOTAL);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
    source.stream.pipe(res);
    source.stream.on('end', () => {
      sentSha = source.sha256();
    });
  });
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const agent = new Agent();
  t.teardown(() => agent.close());

  const watch = memoryWatch();
  const response = await request(`${proxy.url}/api/download`, { dispatcher: agent });
  const received = await drain(response.body);
  const growth = watch.stop();

  t.equal(response.statusCode, 200);
  t.equal(response.headers['content-length'], String(TOTAL), 'content-length passed through');
  t.equal(received.bytes, TOTAL);
  t.equal(received.sha256, sentSha, 'sha256 matches end to end');
  report(t, 'download', growth);
});

t.test('a chunked upload without content-length is forwarded chunked and intact', { timeout: 30_000 }, async (t) => {
  const upstream = await startFakeUpstream();
  upstream.streamEcho();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const agent = new Agent();
  t.teardown(() => agent.close());

  const size = 5 * MB + 123;
  const source = generated(size);
  const response = await request(`${proxy.url}/api/chunked`, { dispatcher: agent, method: 'PUT', body: source.stream });
  const echoed = await drain(response.body);

  t.equal(response.statusCode, 200);
  const got = upstream.received[0]!;
  t.equal(got.headers['transfer-encoding'], 'chunked', 'forwarded with transfer-encoding: chunked');
  t.notOk('content-length' in got.headers, 'no content-length invented');
  t.equal(echoed.bytes, size);
  t.equal(echoed.sha256, source.sha256(), 'sha256 matches end to end');
});
