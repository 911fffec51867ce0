import type { Test } from 'tap';
import type { SqlClient } from '../../../src/db/sql.js';
import type { DatabaseTarget, TestDatabase } from '../../helpers/database.js';

/** Audit rows the admin tests insert directly, and what the tests expect of them. */
export interface FixtureRow {
  request_id: string;
  /** Exact timestamp text; a few carry microseconds. */
  ts: string;
  /** Epoch microseconds of `ts`, for ordering. */
  tsUs: bigint;
  session_id: string | null;
  user_identifier: string | null;
  upstream: string | null;
  method: string;
  path: string;
  query: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  status: number;
  cache_outcome: 'HIT' | 'MISS' | 'STALE' | 'REVALIDATED' | 'BYPASS' | null;
  cache_tier: string | null;
  total_ms: number;
  upstream_ms: number | null;
  request_bytes: number;
  response_bytes: number;
  client_ip: string | null;
  user_agent: string | null;
  error_code: string | null;
}

/** 2025-03-10T00:00:00Z, a Monday: the fixture spans it and the next four UTC days. */
export const BASE_MS = Date.UTC(2025, 2, 10);
export const DAY_MS = 86_400_000;

export const SESSIONS = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
  '33333333-3333-4333-8333-333333333333',
] as const;
export const UNKNOWN_SESSION = '44444444-4444-4444-8444-444444444444';

const UPSTREAMS = ['salesforce', 'jira', null] as const;
const ACTIONS = ['salesforce.query', 'salesforce.sobject.read', 'jira.issue.read', 'jira.search'] as const;
const OUTCOMES = ['HIT', 'MISS', 'STALE', 'REVALIDATED', 'BYPASS', null, 'HIT', 'MISS'] as const;
const STATUSES = [200, 200, 404, 500, 200, 503, 302, 201, 0, 200, 429] as const;
const USERS = ['alice', 'bob', null, 'carol'] as const;

/** Microsecond timestamp text from epoch ms plus extra microseconds. */
export function tsText(ms: number, us = 0): string {
  return `${new Date(ms).toISOString().slice(0, -1)}${String(us).padStart(3, '0')}Z`;
}

/** A deterministic mix of upstreams, actions, sessions, users, outcomes, statuses and latencies over five days. */
export function fixtureRows(count = 61): FixtureRow[] {
  const rows: FixtureRow[] = [];
  for (let i = 0; i < count; i++) {
    // Spread over five days, with collisions: rows 7 and 8 share a millisecond (tie broken by
    // request id), rows 20-22 share one millisecond but differ in microseconds.
    let ms = BASE_MS + ((i * 7_919_000 + (i % 5) * DAY_MS) % (5 * DAY_MS));
    let us = 0;
    if (i === 8) ms = Number(rows[7]!.tsUs / 1000n);
    if (i === 21 || i === 22) {
      ms = Number(rows[20]!.tsUs / 1000n);
      us = i === 21 ? 250 : 999;
    }
    const outcome = OUTCOMES[i % OUTCOMES.length]!;
    const status = STATUSES[i % STATUSES.length]!;
    const upstream = UPSTREAMS[i % UPSTREAMS.length]!;
    rows.push({
      request_id: `req-${String(i).padStart(4, '0')}`,
      ts: tsText(ms, us),
      tsUs: BigInt(ms) * 1000n + BigInt(us),
      session_id: i % 4 === 3 ? null : SESSIONS[i % SESSIONS.length]!,
      user_identifier: USERS[i % USERS.length]!,
      upstream,
      method: i % 6 === 5 ? 'POST' : 'GET',
      path: `/things/${i}`,
      query: i % 2 === 0 ? `q=${i}` : null,
      action: ACTIONS[i % ACTIONS.length]!,
      resource_type: i % 3 === 0 ? 'Account' : null,
      resource_id: i % 3 === 0 ? `001${i}` : null,
      status,
      cache_outcome: outcome,
      cache_tier: outcome === 'HIT' || outcome === 'STALE' ? 'memory' : null,
      // Multiples of 0.25 stay exact in `real`.
      total_ms: ((i * 37) % 400) / 4 + 0.5,
      upstream_ms: outcome === 'HIT' ? null : ((i * 53) % 300) / 4,
      request_bytes: i * 10,
      response_bytes: i * 1000 + 3_000_000_000,
      client_ip: '10.0.0.1',
      user_agent: i % 2 === 0 ? 'curl/8' : null,
      error_code: i % 13 === 4 ? 'upstream_timeout' : null,
    });
  }
  return rows;
}

const COLUMNS = [
  'request_id', 'ts', 'session_id', 'user_identifier', 'upstream', 'method', 'path', 'query', 'action', 'resource_type', 'resource_id',
  'status', 'cache_outcome', 'cache_tier', 'total_ms', 'upstream_ms', 'request_bytes', 'response_bytes', 'client_ip', 'user_agent', 'error_code',
] as const;

/** Inserts rows with plain parameterised SQL. */
export async function insertRows(db: SqlClient, rows: readonly FixtureRow[]): Promise<void> {
  for (const row of rows) {
    const params = COLUMNS.map((column) => row[column]);
    await db.query(
      `INSERT INTO audit_logs (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c, i) => `$${i + 1}${c === 'ts' ? '::timestamptz' : c === 'session_id' ? '::uuid' : ''}`).join(', ')})`,
      params,
    );
  }
}

/** Inserts the three fixture sessions (the third one expired). */
export async function insertSessions(db: SqlClient): Promise<void> {
  for (const [i, id] of SESSIONS.entries()) {
    await db.query(
      `INSERT INTO user_sessions (id, token_hash, user_identifier, preferences, created_at, last_accessed, expires_at)
       VALUES ($1::uuid, $2, $3, $4::jsonb, $5::timestamptz, $6::timestamptz, $7::timestamptz)`,
      [id, `${'abcdef0123456789'[i]!.repeat(8)}${'f'.repeat(56)}`, ['alice', 'bob', null][i], JSON.stringify({ theme: `t${i}` }),
        tsText(BASE_MS), tsText(BASE_MS + 3 * DAY_MS), tsText(BASE_MS + (i === 2 ? 4 : 30) * DAY_MS)],
    );
  }
}

/** A migrated test database with the fixture sessions and rows. */
export async function fixtureDatabase(t: Test, target: DatabaseTarget, rows = fixtureRows()): Promise<TestDatabase> {
  const db = await target.open(t, { migrate: true });
  await insertSessions(db);
  await insertRows(db, rows);
  return db;
}

/** Request ids in listing order: ts descending, then request id descending. */
export function listingOrder(rows: readonly FixtureRow[]): string[] {
  return [...rows]
    .sort((a, b) => (a.tsUs === b.tsUs ? (a.request_id < b.request_id ? 1 : -1) : a.tsUs < b.tsUs ? 1 : -1))
    .map((row) => row.request_id);
}

/** percentile_cont: linear interpolation between the closest ranks; null for no values. */
export function percentileCont(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}
