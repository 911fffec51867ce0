/**
 * Load child for scenario 1's control row, run on the load core: Postgres work like the full
 * child's audit trail, without a sidecache. It COPYs memory-hit audit rows, encoded by
 * sidecache's own writer code (src/audit/copy-encoding.ts), into `audit_logs` of the bench
 * schema, in a batch every 25 ms (the full child flushes every 500 rows, about as often at its
 * rate). How many rows a second is read from stdin, one number per line; 0 pauses. Its rows name
 * the upstream UPSTREAM, so the scenario can count the full child's rows apart.
 * Prints {"ready":true} once connected, and {"rate":N} after each rate it takes up.
 * Env: DATABASE_URL (with the schema's search_path), UPSTREAM.
 */
import { createInterface } from 'node:readline';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { auditCaller, auditRoute, HitRow } from '../../src/audit/hit-row.js';
import { COPY_COLUMNS, encodeCopyChunk } from '../../src/audit/copy-encoding.js';
import { envText } from '../lib/child-env.js';

const BATCH_EVERY_MS = 25;

const client = new pg.Client({ connectionString: envText('DATABASE_URL') });
await client.connect();
const route = auditRoute({ upstream: envText('UPSTREAM'), method: 'GET', path: '/items/1', action: 'bench.read' });
const caller = auditCaller(
  { sessionId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', userIdentifier: 'bench-user', clientIp: '127.0.0.1', userAgent: 'bench-audit-load' },
  { ipAddress: 'full', userAgent: 'full' },
);
const copySql = `COPY audit_logs (${COPY_COLUMNS.join(', ')}) FROM STDIN`;

let rate = 0;
let rowsMade = 0;
let stopping = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  const value = Number(line.trim());
  if (Number.isFinite(value) && value >= 0) {
    rate = value;
    process.stdout.write(`${JSON.stringify({ rate })}\n`);
  }
}).on('close', () => {
  stopping = true;
});

async function copyBatch(rows: number): Promise<void> {
  const now = Date.now();
  const batch: HitRow[] = [];
  for (let i = 0; i < rows; i++) batch.push(new HitRow(`audit-load-${++rowsMade}`, now, 200, 0.3, 2048, route, caller));
  const stream = client.query(copyFrom(copySql));
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(encodeCopyChunk(batch)!);
  });
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
let carry = 0;
while (!stopping) {
  const started = Date.now();
  carry += (rate * BATCH_EVERY_MS) / 1000;
  const rows = Math.floor(carry);
  carry -= rows;
  if (rows > 0) await copyBatch(rows);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, BATCH_EVERY_MS - (Date.now() - started))));
}
await client.end();
