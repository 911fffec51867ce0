import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { DATABASE_URL_TEST, postgresOrSkip } from '../../helpers/database.js';
import { rowCount, tempDir, testWriter, waitFor } from './helpers.js';

/**
 * Measures what kill -9 loses: a child process records events at a steady rate through a writer
 * with the shipped defaults and is killed at a random moment; then a fresh writer replays the
 * spool it left, and the events found (table + spool) are compared with the events the child
 * had recorded. Printed as comments; asserted only: nothing doubled, and the loss stays within
 * the documented bound (events recorded in the last flush interval plus one batch in flight).
 */

const RATE = 2_000;
const RUNS = 4;
const pgTarget = await postgresOrSkip(t);
const child = new URL('./kill-child.ts', import.meta.url).pathname;

for (const scenario of ['postgres up', 'postgres down (spooling)'] as const) {
  t.test(`kill -9 while events flow, ${scenario}`, { skip: pgTarget === null }, async (t) => {
    const db = await pgTarget!.open(t, { migrate: true });
    const losses: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await db.query('TRUNCATE audit_logs');
      const spoolDir = join(tempDir(t), 'spool');
      const dbUrl = scenario === 'postgres up' ? DATABASE_URL_TEST : 'postgres://postgres@127.0.0.1:1/test';
      const proc = spawn(process.execPath, ['--import', 'tsx', child], {
        env: { ...process.env, AUDIT_RATE: String(RATE), AUDIT_DB_URL: dbUrl, AUDIT_DB_SCHEMA: db.schema, AUDIT_SPOOL_DIR: spoolDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.teardown(() => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      });
      let out = '';
      proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<string | number | null>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? code)));
      await waitFor(t, 'child ready', () => out.includes('ready\n'), 20_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000 + Math.random() * 1_000));
      proc.kill('SIGKILL');
      t.equal(await exited, 'SIGKILL');

      const announced = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
      const recorded = announced.length === 0 ? 0 : announced[announced.length - 1]! + 1;
      const { writer } = testWriter(t, db, { spoolDir });
      await writer.start();
      await waitFor(t, 'spool replayed', () => writer.stats().spoolPendingRows === 0, 30_000);
      await writer.close();
      const found = await rowCount(db, "request_id LIKE 'kill-%'");
      const { rows } = await db.query<{ d: string }>("SELECT count(DISTINCT request_id)::int8 AS d FROM audit_logs WHERE request_id LIKE 'kill-%'");
      t.equal(Number(rows[0]!.d), found, 'no event written twice');
      const lost = recorded - found;
      losses.push(lost);
      t.ok(lost >= 0 && lost <= (RATE * 100) / 1000 + 500 + 100, `run ${run + 1}: recorded ${recorded}, found ${found}, lost ${lost}`);
    }
    const max = Math.max(...losses);
    t.comment(
      `${scenario}: kill -9 at ${RATE} events/s, batchSize 500, flush 100 ms: lost ${losses.join(', ')} events ` +
        `(max ${max} = ${((max / RATE) * 1000).toFixed(0)} ms of traffic)`,
    );
  });
}
