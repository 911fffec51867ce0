import t from 'tap';
import { WriteQueue } from '../../../src/cache/write-queue.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('runs writes with bounded concurrency and resolves each when it ran', async (t) => {
  const queue = new WriteQueue({ capacity: 10, concurrency: 2 });
  let running = 0;
  let peak = 0;
  const write = async () => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running -= 1;
  };
  const results = await Promise.all(Array.from({ length: 6 }, () => queue.push(write)));
  t.same(results, [true, true, true, true, true, true]);
  t.equal(peak, 2);
  t.same(queue.stats(), { depth: 0, written: 6, dropped: 0, failed: 0 });
});

t.test('a full queue drops the write at once and counts it; push never waits', async (t) => {
  const queue = new WriteQueue({ capacity: 2, concurrency: 1 });
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  const first = queue.push(() => blocked);
  await tick();
  const queued = [queue.push(async () => {}), queue.push(async () => {})];
  const started = Date.now();
  t.equal(await queue.push(async () => {}), false, 'dropped');
  t.ok(Date.now() - started < 50);
  t.equal(queue.stats().dropped, 1);
  t.equal(queue.stats().depth, 3);
  release();
  t.same(await Promise.all([first, ...queued]), [true, true, true]);
});

t.test('a failing write is counted and resolves false', async (t) => {
  const queue = new WriteQueue({ capacity: 5, concurrency: 1 });
  t.equal(await queue.push(() => Promise.reject(new Error('boom'))), false);
  t.equal(queue.stats().failed, 1);
});

t.test('drain waits for queued writes, bounded by its timeout', async (t) => {
  const queue = new WriteQueue({ capacity: 5, concurrency: 1 });
  let done = false;
  void queue.push(() => new Promise<void>((resolve) => setTimeout(() => ((done = true), resolve()), 30)));
  await queue.drain(1000);
  t.ok(done);
  void queue.push(() => new Promise(() => undefined));
  const started = Date.now();
  await queue.drain(50);
  t.ok(Date.now() - started < 500, 'a stuck write does not hold drain past its timeout');
});
