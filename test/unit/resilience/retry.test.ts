import t from 'tap';
import { isRetryableMethod, resetCode, retryOnceOnReset } from '../../../src/resilience/retry.js';
import { fakeClock, flush, track } from '../../helpers/clock.js';

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

/** An fn that fails with the given errors in turn, then answers 'ok'. */
function script(...errors: Error[]) {
  const attempts: number[] = [];
  const fn = async (attempt: 0 | 1): Promise<string> => {
    attempts.push(attempt);
    const err = errors.shift();
    if (err !== undefined) throw err;
    return 'ok';
  };
  return { attempts, fn };
}

t.test('isRetryableMethod: the safe reads only', async (t) => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'get']) t.ok(isRetryableMethod(m), m);
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT']) t.notOk(isRetryableMethod(m), m);
});

t.test('resetCode finds the code through causes and AggregateErrors', async (t) => {
  for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNREFUSED']) t.equal(resetCode(coded(code)), code);
  for (const code of ['UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_ABORTED', 'ENOTFOUND', 'HPE_INVALID_CONSTANT']) {
    t.equal(resetCode(coded(code)), undefined, `${code} is not a reset`);
  }
  const wrapped = Object.assign(new Error('could not connect', { cause: coded('UND_ERR_SOCKET') }), { code: 'upstream_connection_reset' });
  t.equal(resetCode(wrapped), 'UND_ERR_SOCKET', 'our SidecacheError wrapping the undici error');
  t.equal(resetCode(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'all failed')), 'ECONNREFUSED', 'happy eyeballs');
  t.equal(resetCode('ECONNRESET'), undefined, 'not an Error');
  t.equal(resetCode(null), undefined);
});

t.test('retries an idempotent call exactly once after a reset, after the jitter', async (t) => {
  const clock = fakeClock();
  const { attempts, fn } = script(coded('ECONNRESET'));
  const retries: object[] = [];
  const result = track(retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 100, clock, random: () => 0.42, onRetry: (info) => retries.push(info) }));
  await flush();
  t.same(attempts, [0], 'waiting for the jitter');
  t.match(retries, [{ code: 'ECONNRESET', delayMs: 42 }]);
  clock.advance(41);
  await flush();
  t.same(attempts, [0]);
  clock.advance(1);
  await flush();
  t.same(attempts, [0, 1]);
  t.equal(result.state, 'resolved');
  t.equal(result.value, 'ok');
});

t.test('never a second retry: the second failure is thrown', async (t) => {
  const second = coded('UND_ERR_SOCKET', 'second');
  const { attempts, fn } = script(coded('ECONNRESET', 'first'), second, coded('ECONNRESET', 'third'));
  await t.rejects(retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 0 }), second);
  t.same(attempts, [0, 1]);
});

t.test('never retries a non-idempotent call', async (t) => {
  const { attempts, fn } = script(coded('ECONNRESET'));
  await t.rejects(retryOnceOnReset(fn, { isIdempotent: false, jitterMs: 0 }), { code: 'ECONNRESET' });
  t.same(attempts, [0]);
});

t.test('does not retry other errors', async (t) => {
  for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_ABORTED']) {
    const { attempts, fn } = script(coded(code));
    await t.rejects(retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 0 }), { code });
    t.same(attempts, [0], code);
  }
});

t.test('a success is returned as is, with no retry', async (t) => {
  const { attempts, fn } = script();
  t.equal(await retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 10 }), 'ok');
  t.same(attempts, [0]);
});

t.test('an abort during the jitter wait cancels the retry', async (t) => {
  const clock = fakeClock();
  const controller = new AbortController();
  const { attempts, fn } = script(coded('ECONNRESET'));
  const result = track(retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 100, clock, random: () => 0.5, signal: controller.signal }));
  await flush();
  controller.abort(new Error('client left'));
  await flush();
  t.equal(result.state, 'rejected');
  t.match(result.error, { message: 'client left' });
  clock.advance(100);
  await flush();
  t.same(attempts, [0], 'never retried');
  t.equal(clock.pending(), 0, 'jitter timer cancelled');
});

t.test('no retry when the signal had already aborted (the reset was our own abort)', async (t) => {
  const controller = new AbortController();
  controller.abort();
  const { attempts, fn } = script(coded('UND_ERR_SOCKET'));
  await t.rejects(retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 0, signal: controller.signal }), { code: 'UND_ERR_SOCKET' });
  t.same(attempts, [0]);
});

t.test('jitter is uniform in [0, jitterMs)', async (t) => {
  const delays: number[] = [];
  for (const r of [0, 0.5, 0.999]) {
    const { fn } = script(coded('ECONNRESET'));
    await retryOnceOnReset(fn, { isIdempotent: true, jitterMs: 20, random: () => r, onRetry: ({ delayMs }) => delays.push(delayMs) });
  }
  t.same(delays, [0, 10, 19]);
});
