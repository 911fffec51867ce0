import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { auditEvent, type AuditEvent } from '../../../src/audit/events.js';
import { AuditWriter, type AuditWriterOptions } from '../../../src/audit/writer.js';
import type { AuditConfig } from '../../../src/config/types.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { captureLog, type CapturedLog } from '../../helpers/log.js';

/** A temp directory removed when the test ends. */
export function tempDir(t: Test, prefix = 'sidecache-audit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function auditConfig(overrides: Partial<AuditConfig> = {}): AuditConfig {
  return {
    enabled: true,
    flushIntervalMs: 100,
    batchSize: 500,
    bufferMax: 100_000,
    spoolDir: '/nonexistent',
    retentionDays: 90,
    partitionsAheadMonths: 2,
    trustedProxies: [],
    failClosed: false,
    ipAddress: 'full',
    userAgent: 'full',
    ...overrides,
  };
}

/**
 * A database wrapper that records the first words of each statement (a COPY's too) and can be
 * switched to reject ('down') or hang ('hang') every statement, like a Postgres that is away or stuck.
 */
export interface Switchable extends SqlDatabase {
  statements: string[];
  /** Request ids of every successful INSERT or COPY, in statement order. */
  insertedIds: string[];
  mode: 'up' | 'down' | 'hang';
  /** INSERT statements into audit_logs. */
  inserts(): number;
  /** COPY statements into audit_logs. */
  copies(): number;
  /** Both: one per batch written. */
  writes(): number;
}

const INSERT_WORDS = 'INSERT INTO audit_logs';
const COPY_WORDS = 'COPY audit_logs (request_id,';

/** pg-copy-streams' COPY query, as the COPY path hands it to `query()` in place of the text. */
interface CopyStream {
  text: string;
  write(data: Buffer): boolean;
  end(data?: Buffer): unknown;
  once(event: 'finish', listener: () => void): unknown;
}

const isCopyStream = (value: unknown): value is CopyStream => typeof value === 'object' && value !== null && typeof (value as CopyStream).text === 'string';

export function switchable(db: SqlDatabase): Switchable {
  let hung: Array<(err: Error) => void> = [];
  let mode: Switchable['mode'] = 'up';
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const count = (words: string) => wrapper.statements.filter((s) => s.startsWith(words)).length;
  /** Records the statement; for a COPY, the ids it carries once it has gone through. */
  const note = (text: unknown): string => {
    if (!isCopyStream(text)) {
      const words = String(text).trim().split(/\s+/).slice(0, 3).join(' ');
      wrapper.statements.push(words);
      return words;
    }
    const words = text.text.trim().split(/\s+/).slice(0, 3).join(' ');
    wrapper.statements.push(words);
    const chunks: Buffer[] = [];
    const write = text.write.bind(text);
    text.write = (data: Buffer) => {
      chunks.push(data);
      return write(data);
    };
    const end = text.end.bind(text);
    text.end = (data?: Buffer) => {
      if (data !== undefined) chunks.push(data);
      const ids = Buffer.concat(chunks).toString('utf8').split('\n').filter((line) => line !== '').map((line) => line.split('\t')[0]!);
      text.once('finish', () => wrapper.insertedIds.push(...ids));
      return end(data);
    };
    return words;
  };
  const wrapper: Switchable = {
    kind: db.kind,
    statements: [],
    insertedIds: [],
    get mode() {
      return mode;
    },
    set mode(next) {
      mode = next;
      // Statements stuck on the "connection" fail once it is back, as a reset socket would.
      if (next !== 'hang') for (const fail of hung.splice(0)) fail(new Error('Connection terminated unexpectedly'));
    },
    inserts: () => count(INSERT_WORDS),
    copies: () => count(COPY_WORDS),
    writes: () => count(INSERT_WORDS) + count(COPY_WORDS),
    async query(text, params) {
      const words = note(text);
      if (mode === 'down') throw refused();
      if (mode === 'hang') return new Promise((_, reject) => hung.push(reject));
      const result = await db.query(text, params);
      if (words === INSERT_WORDS) wrapper.insertedIds.push(...((params?.[0] ?? []) as string[]));
      return result as never;
    },
    withClient: (fn) => (wrapper.mode === 'up' ? db.withClient(fn) : Promise.reject(new Error('database down'))),
    poolStats: () => db.poolStats(),
    close: () => db.close(),
  };
  return wrapper;
}

/** Event number `i` of a test run: request ids sort in recording order. */
export function testEvent(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return auditEvent({
    requestId: `req-${String(i).padStart(8, '0')}`,
    ts: Date.UTC(2026, 0, 15, 12) + i,
    sessionId: i % 3 === 0 ? null : '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e',
    userIdentifier: i % 3 === 0 ? null : `user${i % 7}@example.com`,
    upstream: 'salesforce',
    method: 'GET',
    path: `/services/data/v60.0/sobjects/Account/001${i}`,
    query: i % 2 === 0 ? 'fields=Name&access_token=[REDACTED]' : null,
    action: 'salesforce.sobject.read',
    resourceType: 'Account',
    resourceId: `001${i}`,
    status: 200,
    cacheOutcome: i % 2 === 0 ? 'HIT' : 'MISS',
    cacheTier: i % 2 === 0 ? 'memory' : null,
    totalMs: 1.5 + (i % 10),
    upstreamMs: i % 2 === 0 ? null : 120.25,
    requestBytes: 0,
    responseBytes: 1000 + i,
    clientIp: '10.0.0.7',
    userAgent: 'deploy-assistant/1.0',
    errorCode: null,
    ...overrides,
  });
}

/** A writer on `db` with a spool in a temp dir, closed when the test ends; timers are real. */
export function testWriter(
  t: Test,
  db: SqlDatabase | null,
  options: { config?: Partial<AuditConfig>; spoolDir?: string } & Partial<Omit<AuditWriterOptions, 'db' | 'config' | 'log'>> = {},
): { writer: AuditWriter; log: CapturedLog; spoolDir: string } {
  const { config, spoolDir: dir, ...rest } = options;
  const spoolDir = dir ?? join(tempDir(t), 'spool');
  const log = captureLog();
  const writer = new AuditWriter({ db, config: auditConfig({ spoolDir, ...config }), log, maintenanceIntervalMs: 0, ...rest });
  t.teardown(() => writer.close(2_000));
  return { writer, log, spoolDir };
}

export async function waitFor(t: Test, what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      t.fail(`timed out waiting for: ${what}`);
      throw new Error(`timed out waiting for: ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function rowCount(db: SqlDatabase, where = 'true'): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*)::int8 AS n FROM audit_logs WHERE ${where}`);
  return Number(rows[0]!.n);
}
