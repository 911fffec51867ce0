import { join } from 'node:path';
import t from 'tap';
import { Spool } from '../../../src/audit/spool.js';
import { databases } from '../../helpers/database.js';
import { rowCount, tempDir, testEvent, testWriter, waitFor } from './helpers.js';

/**
 * Measurements, not assertions on time: sustained insert rate with the spool idle, and how long
 * a 100k-row spool takes to replay. Figures are printed as comments. The row counts are asserted.
 */

const SUSTAINED_ROWS = Number(process.env['AUDIT_BENCH_ROWS'] ?? 200_000);
const SPOOL_ROWS = 100_000;
const BATCH_SIZE = Number(process.env['AUDIT_BENCH_BATCH_SIZE'] ?? 500);

for (const target of await databases(t)) {
  const scale = target.name === 'pglite' ? 4 : 1;

  t.test(`sustained insert rate on ${target.name} (spool idle)`, async (t) => {
    const db = await target.open(t, { migrate: true });
    const total = Math.round(SUSTAINED_ROWS / scale);
    // The shipped defaults: batches of 500, a flush every 100 ms.
    const { writer } = testWriter(t, db, { config: { batchSize: BATCH_SIZE, flushIntervalMs: 100, bufferMax: 100_000 } });
    await writer.start();
    const started = performance.now();
    let recordNs = 0;
    for (let i = 0; i < total; ) {
      // Offer events in bursts, as a busy proxy would, never beyond what the buffer holds.
      if (writer.stats().buffered < 50_000) {
        const burst = Math.min(2_000, total - i);
        const events = Array.from({ length: burst }, (_, k) => testEvent(i + k));
        const before = process.hrtime.bigint();
        for (const event of events) writer.record(event);
        recordNs += Number(process.hrtime.bigint() - before);
        i += burst;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(t, 'every row written', () => writer.stats().written === total, 120_000);
    const seconds = (performance.now() - started) / 1000;
    t.equal(await rowCount(db), total);
    t.equal(writer.stats().spooled, 0, 'spool idle');
    t.comment(
      `${target.name}: ${total} rows in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} rows/s sustained ` +
        `(batchSize ${BATCH_SIZE}); record() ${(recordNs / total / 1000).toFixed(2)} µs per event`,
    );
  });

  t.test(`replaying a ${SPOOL_ROWS / scale}-row spool on ${target.name}`, async (t) => {
    const db = await target.open(t, { migrate: true });
    const rows = Math.round(SPOOL_ROWS / scale);
    const dir = join(tempDir(t), 'spool');
    const spool = new Spool({ dir });
    await spool.open();
    const appendStarted = performance.now();
    for (let i = 0; i < rows; i += 500) await spool.append(Array.from({ length: 500 }, (_, k) => testEvent(i + k)));
    const appendSeconds = (performance.now() - appendStarted) / 1000;
    const segments = spool.segments().length;
    await spool.close();

    const { writer } = testWriter(t, db, { spoolDir: dir });
    const started = performance.now();
    await writer.start();
    await waitFor(t, 'spool replayed', () => writer.stats().spoolPendingRows === 0, 120_000);
    const seconds = (performance.now() - started) / 1000;
    t.equal(await rowCount(db), rows);
    t.equal(writer.stats().replayed, rows);
    t.comment(
      `${target.name}: spooling ${rows} rows as 500-row fsynced appends took ${appendSeconds.toFixed(2)} s ` +
        `(${Math.round(rows / appendSeconds)} rows/s, ${segments} segments); replaying them took ${seconds.toFixed(2)} s ` +
        `(${Math.round(rows / seconds)} rows/s)`,
    );
  });
}
