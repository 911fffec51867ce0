import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { auditEvent, type AuditEvent } from '../../../src/audit/events.js';
import { REJECTED_FILE, Spool } from '../../../src/audit/spool.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-spool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const event = (i: number): AuditEvent =>
  auditEvent({ requestId: `r${String(i).padStart(6, '0')}`, ts: 1_700_000_000_000 + i, method: 'GET', path: `/p/${i}`, action: 'a.read', status: 200, totalMs: i / 4 });
const batch = (from: number, n: number): AuditEvent[] => Array.from({ length: n }, (_, i) => event(from + i));

async function readAll(spool: Spool, name: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of spool.readSegment(name)) out.push(e);
  return out;
}

/** Counts fsyncs of every FileHandle while the test runs. */
async function countSyncs(t: Test, dir: string): Promise<{ count: number }> {
  const probe = await open(join(dir, '.probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  unlinkSync(join(dir, '.probe'));
  const original = proto.sync;
  const counter = { count: 0 };
  proto.sync = function (this: unknown) {
    counter.count += 1;
    return original.call(this);
  };
  t.teardown(() => {
    proto.sync = original;
  });
  return counter;
}

t.test('append writes a batch as lines; readSegment gives them back in order', async (t) => {
  const dir = join(tempDir(t), 'spool');
  const spool = new Spool({ dir });
  await spool.open();
  t.equal(spool.hasSegments(), false);
  await spool.append(batch(0, 3));
  await spool.append(batch(3, 2));
  t.equal(spool.pendingRows(), 5);
  t.same(spool.segments(), [{ name: 'spool-000000000001.ndjson', rows: 5 }]);
  const name = await spool.oldestSegment();
  t.equal(name, 'spool-000000000001.ndjson');
  t.same(await readAll(spool, name!), batch(0, 5));
  const text = readFileSync(join(dir, name!), 'utf8');
  t.equal(text.split('\n').length, 6, 'one line per event, newline-terminated');
  t.same(JSON.parse(text.split('\n')[0]!), event(0));
});

t.test('a large append is encoded 1,000 events per turn of the event loop, and written as one', async (t) => {
  const dir = join(tempDir(t), 'spool');
  const spool = new Spool({ dir });
  await spool.open();
  const stringify = JSON.stringify;
  let encoded = 0;
  JSON.stringify = ((...args: Parameters<typeof stringify>) => {
    encoded += 1;
    return stringify(...args);
  }) as typeof stringify;
  t.teardown(() => {
    JSON.stringify = stringify;
  });
  const appended = spool.append(batch(0, 4_500));
  let encodedWhenAnotherTurnRan = -1;
  setImmediate(() => (encodedWhenAnotherTurnRan = encoded));
  await appended;
  JSON.stringify = stringify;
  t.ok(encodedWhenAnotherTurnRan > 0 && encodedWhenAnotherTurnRan < 4_500, `another callback ran while the batch was being encoded (after ${encodedWhenAnotherTurnRan})`);
  t.same(spool.segments(), [{ name: 'spool-000000000001.ndjson', rows: 4_500 }]);
  t.same(await readAll(spool, 'spool-000000000001.ndjson'), batch(0, 4_500), 'every event, in order');
});

t.test('every append is fsynced', async (t) => {
  const dir = tempDir(t);
  const syncs = await countSyncs(t, dir);
  const spool = new Spool({ dir });
  await spool.open();
  const before = syncs.count;
  for (let i = 0; i < 3; i++) await spool.append(batch(i, 1));
  // The first append also syncs the directory for the new segment's entry.
  t.ok(syncs.count - before >= 3, `${syncs.count - before} fsyncs for 3 appends`);
});

t.test('segments rotate at segmentBytes and keep their order', async (t) => {
  const dir = tempDir(t);
  const spool = new Spool({ dir, segmentBytes: 1_000 });
  await spool.open();
  for (let i = 0; i < 20; i++) await spool.append(batch(i * 3, 3));
  const segments = spool.segments();
  t.ok(segments.length > 3, `${segments.length} segments`);
  t.same(segments.map((s) => s.name), [...segments.map((s) => s.name)].sort());
  const all: AuditEvent[] = [];
  for (const { name } of segments) all.push(...(await readAll(spool, name)));
  t.same(all, batch(0, 60));
});

t.test('oldestSegment closes the segment being appended to; later appends start a new one', async (t) => {
  const dir = tempDir(t);
  const spool = new Spool({ dir });
  await spool.open();
  await spool.append(batch(0, 2));
  const oldest = await spool.oldestSegment();
  await spool.append(batch(2, 2));
  t.same(spool.segments(), [
    { name: oldest!, rows: 2 },
    { name: 'spool-000000000002.ndjson', rows: 2 },
  ]);
  await spool.removeSegment(oldest!);
  t.equal(existsSync(join(dir, oldest!)), false);
  t.equal(spool.pendingRows(), 2);
  t.equal(await spool.oldestSegment(), 'spool-000000000002.ndjson');
});

t.test('a restarted spool finds the segments left behind, counts their lines and appends after them', async (t) => {
  const dir = tempDir(t);
  const first = new Spool({ dir, segmentBytes: 600 });
  await first.open();
  for (let i = 0; i < 5; i++) await first.append(batch(i * 2, 2));
  // Crash mid-append: a torn line at the end of the last segment.
  const last = first.segments().at(-1)!.name;
  appendFileSync(join(dir, last), JSON.stringify(event(99)).slice(0, 40));
  const expected = first.segments();

  const second = new Spool({ dir, segmentBytes: 600 });
  await second.open();
  t.same(second.segments(), expected, 'same segments, complete lines only');
  t.equal(second.pendingRows(), 10);
  await second.append(batch(10, 1));
  const names = second.segments().map((s) => s.name);
  t.ok(names.at(-1)! > last, 'appends go to a new, later segment');
  const all: AuditEvent[] = [];
  for (const name of names) all.push(...(await readAll(second, name)));
  t.same(all, batch(0, 11), 'the torn line is skipped');
  t.equal(second.skippedLines(), 1, 'and counted');
});

t.test('damaged lines anywhere are skipped and counted', async (t) => {
  const dir = tempDir(t);
  const lines = [JSON.stringify(event(1)), '{"requestId":"x"}', 'not json', '[1,2]', JSON.stringify(event(2)), ''];
  writeFileSync(join(dir, 'spool-000000000007.ndjson'), lines.join('\n'));
  const spool = new Spool({ dir });
  await spool.open();
  t.same(await readAll(spool, 'spool-000000000007.ndjson'), [event(1), event(2)]);
  t.equal(spool.skippedLines(), 3);
});

t.test('an append that cannot be written rejects, and the spool recovers once it can', async (t) => {
  const root = tempDir(t);
  const blocker = join(root, 'blocker');
  writeFileSync(blocker, 'a regular file where the spool directory should be');
  const spool = new Spool({ dir: join(blocker, 'spool') });
  await t.rejects(spool.open(), { code: 'ENOTDIR' });
  await t.rejects(spool.append(batch(0, 2)), { code: 'ENOTDIR' });
  t.equal(spool.pendingRows(), 0);
  unlinkSync(blocker);
  await spool.append(batch(0, 2));
  t.equal(spool.pendingRows(), 2);
  t.same(await readAll(spool, (await spool.oldestSegment())!), batch(0, 2));
});

t.test('a write that fails half-way is cut back, so the next batch starts on a line of its own', async (t) => {
  const dir = tempDir(t);
  const spool = new Spool({ dir });
  await spool.open();
  await spool.append(batch(0, 2));
  const probe = await open(join(dir, '.probe'), 'w');
  type Write = (this: unknown, data: Buffer, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>;
  const proto = Object.getPrototypeOf(probe) as { write: Write };
  await probe.close();
  unlinkSync(join(dir, '.probe'));
  const original = proto.write;
  proto.write = async function (this: unknown, data: Buffer, offset: number, length: number, position: number) {
    proto.write = original;
    await original.call(this, data, offset, Math.floor(length / 2), position);
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  t.teardown(() => {
    proto.write = original;
  });
  await t.rejects(spool.append(batch(2, 3)), { code: 'ENOSPC' });
  t.equal(spool.pendingRows(), 2);
  await spool.append(batch(5, 1));
  const all: AuditEvent[] = [];
  for (const { name } of spool.segments()) all.push(...(await readAll(spool, name)));
  t.same(all, [...batch(0, 2), event(5)]);
  t.equal(spool.skippedLines(), 0, 'no torn line left behind');
});

t.test('quarantine keeps rows in rejected.ndjson, apart from the segments', async (t) => {
  const dir = tempDir(t);
  const spool = new Spool({ dir });
  await spool.open();
  await spool.quarantine(batch(0, 2));
  t.equal(readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n').length, 2);
  t.equal(spool.hasSegments(), false);
  t.same(readdirSync(dir), [REJECTED_FILE]);
});
