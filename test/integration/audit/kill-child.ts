import { writeSync } from 'node:fs';
import { AuditWriter } from '../../../src/audit/writer.js';
import { openDatabase } from '../../../src/db/sql.js';
import { auditConfig, testEvent } from './helpers.js';
import { captureLog } from '../../helpers/log.js';

/**
 * Child process for kill.test.ts: records audit events at AUDIT_RATE per second through a writer
 * with the shipped defaults (batchSize 500, flush every 100 ms) until it is killed. Before each
 * group of events it writes the highest sequence number it is about to record to stdout
 * (synchronously), so the parent knows, after SIGKILL, how many events were handed to the
 * writer (over-counting by at most one group: the loss it measures is an upper bound).
 */

if (process.env['AUDIT_RATE'] === undefined) {
  // Run directly (e.g. `tap test/integration/audit`): nothing to do, kill.test.ts starts it with its settings.
  process.exit(0);
}

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const rate = Number(env('AUDIT_RATE'));
const db = await openDatabase({
  url: env('AUDIT_DB_URL'),
  dataDir: 'unused',
  poolSize: 2,
  statementTimeoutMs: 5_000,
  connectTimeoutMs: 1_000,
  searchPath: env('AUDIT_DB_SCHEMA'),
  onError: () => {},
});
const log = captureLog();
const writer = new AuditWriter({ db, config: auditConfig({ spoolDir: env('AUDIT_SPOOL_DIR') }), log, maintenanceIntervalMs: 0 });
await writer.start();
writeSync(1, 'ready\n');

const tickMs = 2;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
let seq = 0;
const started = Date.now();
setInterval(() => {
  // Catch up with the wall clock, so the rate holds even when a tick runs late.
  const due = Math.floor(((Date.now() - started) * rate) / 1000);
  const until = Math.min(due, seq + perTick * 10);
  if (until <= seq) return;
  writeSync(1, `${until - 1}\n`);
  for (; seq < until; seq++) writer.record(testEvent(seq, { requestId: `kill-${String(seq).padStart(9, '0')}` }));
}, tickMs);
