import t from 'tap';
import { SingleFlight } from '../../../src/proxy/single-flight.js';

/** A promise with its resolve/reject exposed, so tests decide when work settles. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

t.test('concurrent runs for one key share a single call', async (t) => {
  const flight = new SingleFlight<string>();
  const gate = deferred<string>();
  let calls = 0;
  const work = () => {
    calls += 1;
    return gate.promise;
  };
  const runs = [flight.run('k', work), flight.run('k', work), flight.run('k', work)];
  gate.resolve('value');
  t.same(await Promise.all(runs.map((r) => r.result)), ['value', 'value', 'value']);
  t.equal(calls, 1);
});

t.test('only the first caller is the leader', async (t) => {
  const flight = new SingleFlight<number>();
  const gate = deferred<number>();
  const first = flight.run('k', () => gate.promise);
  const second = flight.run('k', () => gate.promise);
  t.equal(first.leader, true);
  t.equal(second.leader, false);
  gate.resolve(1);
  await first.result;
});

t.test('counts the callers that joined another flight', async (t) => {
  const flight = new SingleFlight<number>();
  const gate = deferred<number>();
  t.equal(flight.collapsed, 0);
  const runs = [1, 2, 3, 4].map(() => flight.run('k', () => gate.promise));
  t.equal(flight.collapsed, 3);
  gate.resolve(0);
  await Promise.all(runs.map((r) => r.result));
  t.equal(flight.collapsed, 3, 'settling does not change the count');
});

t.test('different keys run independently', async (t) => {
  const flight = new SingleFlight<string>();
  let calls = 0;
  const a = flight.run('a', async () => `a${++calls}`);
  const b = flight.run('b', async () => `b${++calls}`);
  t.equal(a.leader, true);
  t.equal(b.leader, true);
  t.equal(flight.inflight, 2);
  t.same(await Promise.all([a.result, b.result]), ['a1', 'b2']);
  t.equal(flight.collapsed, 0);
});

t.test('a rejection reaches every waiting caller', async (t) => {
  const flight = new SingleFlight<string>();
  const gate = deferred<string>();
  const runs = [0, 1, 2].map(() => flight.run('k', () => gate.promise));
  const boom = new Error('upstream down');
  gate.reject(boom);
  for (const run of runs) await t.rejects(run.result, boom);
});

t.test('the key is freed after success so the next call runs again', async (t) => {
  const flight = new SingleFlight<number>();
  let calls = 0;
  const first = flight.run('k', async () => ++calls);
  t.equal(flight.inflight, 1);
  t.equal(await first.result, 1);
  t.equal(flight.inflight, 0);
  const second = flight.run('k', async () => ++calls);
  t.equal(second.leader, true);
  t.equal(await second.result, 2);
  t.equal(calls, 2);
});

t.test('the key is freed after a rejection so the next call runs again', async (t) => {
  const flight = new SingleFlight<string>();
  const failed = flight.run('k', async () => {
    throw new Error('first fails');
  });
  await t.rejects(failed.result, { message: 'first fails' });
  t.equal(flight.inflight, 0);
  const retry = flight.run('k', async () => 'ok');
  t.equal(retry.leader, true);
  t.equal(await retry.result, 'ok');
});

t.test('a caller arriving after settle does not get the old result', async (t) => {
  const flight = new SingleFlight<number>();
  let n = 0;
  await flight.run('k', async () => ++n).result;
  t.equal(await flight.run('k', async () => ++n).result, 2);
});
