import { PassThrough, Readable, Writable } from 'node:stream';
import t from 'tap';
import { SidecacheError } from '../../../src/errors.js';
import { guardedBody, readBody, receiveBody } from '../../../src/proxy/body.js';

const pace = { idleTimeoutMs: 200, minBytesPerSecond: 1000, minRateAfterMs: 300 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The guard's timer is unref'd (a socket keeps a server alive); nothing here would.
const keepAlive = setInterval(() => undefined, 1000);
t.teardown(() => clearInterval(keepAlive));

/** Writes `chunk` every `everyMs` until stopped. */
function trickle(source: PassThrough, chunk: Buffer, everyMs: number): () => void {
  const timer = setInterval(() => source.write(chunk), everyMs);
  return () => clearInterval(timer);
}

async function failure(promise: Promise<unknown>): Promise<SidecacheError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SidecacheError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

t.test('a body that stops arriving fails with request_body_timeout after the idle timeout', async (t) => {
  const source = new PassThrough();
  source.write('partial');
  const started = Date.now();
  const err = await failure(readBody(source, undefined, 1024, { ...pace, minBytesPerSecond: 0 }));
  t.equal(err.code, 'request_body_timeout');
  t.equal(err.status, 408);
  t.match(err.message, /no request body byte arrived for 200 ms/);
  t.ok(Date.now() - started >= 200 && Date.now() - started < 1000, `after ${Date.now() - started} ms`);
});

t.test('a body that keeps trickling fails once its average rate is under the minimum after the grace period', async (t) => {
  const source = new PassThrough();
  const stop = trickle(source, Buffer.from('x'), 20); // 50 bytes/s, never idle
  t.teardown(stop);
  const started = Date.now();
  const err = await failure(readBody(source, undefined, 1 << 20, pace));
  t.equal(err.code, 'request_body_timeout');
  t.match(err.message, /bytes\/s, below the minimum of 1000/);
  t.ok(Date.now() - started >= 300, 'not before the grace period');
});

t.test('a body sent fast enough passes, and so does any body when the checks are off', async (t) => {
  const fast = new PassThrough();
  const stop = trickle(fast, Buffer.alloc(100, 1), 20); // 5 KB/s
  setTimeout(() => (stop(), fast.end()), 500);
  t.equal((await readBody(fast, undefined, 1 << 20, pace)).length % 100, 0);

  const slow = new PassThrough();
  slow.write('a');
  setTimeout(() => slow.end('b'), 400);
  t.equal((await readBody(slow, undefined, 1024, { idleTimeoutMs: 0, minBytesPerSecond: 0, minRateAfterMs: 0 })).toString(), 'ab');
  t.equal((await readBody(Readable.from([Buffer.from('no pace')]), undefined, 1024)).toString(), 'no pace');
});

t.test('time the reader spends not reading (backpressure) is not held against the client', async (t) => {
  const source = new PassThrough();
  const errors: SidecacheError[] = [];
  const guard = guardedBody({ source, maxBytes: 1 << 30, pace, onError: (err) => errors.push(err) });
  // The client fills every buffer at once, then the reader (a stalled upstream) takes nothing for 3 idle timeouts.
  source.write(Buffer.alloc(256 * 1024, 1));
  await sleep(600);
  t.same(errors, [], 'no timeout while the reader was the one not keeping up');
  let received = 0;
  guard.pipe(new Writable({ write: (chunk: Buffer, _e, done) => ((received += chunk.length), done()) }));
  source.end();
  await new Promise((resolve, reject) => guard.once('end', resolve).once('error', reject));
  t.equal(received, 256 * 1024);
});

t.test('failures are catalogued errors, reported to onError before any reader sees them', async (t) => {
  const tooLarge = await failure(readBody(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), undefined, 1000));
  t.equal(tooLarge.code, 'request_body_too_large');
  t.equal((await failure(readBody(new PassThrough(), '5000', 1000))).code, 'request_body_too_large', 'a declared length over the limit is refused at once');

  const source = new PassThrough();
  const seen: string[] = [];
  const guard = guardedBody({ source, maxBytes: 1 << 20, pace: null, onError: (err) => seen.push(`onError ${err.code}`) });
  guard.on('error', (err: SidecacheError) => seen.push(`reader ${err.code}`));
  guard.resume();
  source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  await sleep(20);
  t.same(seen, ['onError client_aborted', 'reader client_aborted'], 'a broken request stream is the client\'s fault');

  const upstreamSide = new PassThrough();
  const reported: string[] = [];
  const read = guardedBody({ source: upstreamSide, maxBytes: 1 << 20, pace: null, onError: (err) => reported.push(err.code) });
  read.on('error', () => undefined);
  read.destroy(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' }));
  await sleep(20);
  t.same(reported, [], 'the reader giving up (the upstream failed) is not blamed on the client');
});

t.test('receiveBody: whole up to the buffer size, streamed beyond it with nothing lost', async (t) => {
  const small = guardedBody({ source: Readable.from([Buffer.from('abc'), Buffer.from('def')]), maxBytes: 1 << 20, pace: null });
  const whole = await receiveBody(small, undefined, 10);
  t.ok(Buffer.isBuffer(whole));
  t.equal(whole.toString(), 'abcdef');

  const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(4, 97 + i));
  const large = guardedBody({ source: Readable.from(chunks), maxBytes: 1 << 20, pace: null });
  const streamed = await receiveBody(large, undefined, 10);
  t.ok(streamed instanceof Readable, 'an undeclared length past the buffer size streams');
  const parts: Buffer[] = [];
  for await (const chunk of streamed as Readable) parts.push(chunk as Buffer);
  t.equal(Buffer.concat(parts).toString(), Buffer.concat(chunks).toString());

  const declared = guardedBody({ source: Readable.from([Buffer.from('x')]), maxBytes: 1 << 20, pace: null });
  t.equal(await receiveBody(declared, '11', 10), declared, 'a declared length past the buffer size streams at once');
});
