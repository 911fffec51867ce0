import type { SqlDatabase } from '../db/sql.js';
import { listAudit, type AuditRow } from './listing.js';
import { AuditQueryError, UUID_PATTERN } from './query-input.js';

/** A session as the admin API shows it: never the token hash, at most its first 8 characters. */
export interface SessionView {
  id: string;
  tokenPrefix: string | null;
  userIdentifier: string | null;
  preferences: unknown;
  createdAt: string | null;
  lastAccessed: string | null;
  expiresAt: string | null;
}

export interface SessionActivity {
  session: SessionView;
  recentActivity: AuditRow[];
}

/** The session and its most recent audit rows, or null when no session has this id. */
export async function sessionActivity(db: SqlDatabase, sessionId: string, limit = 50): Promise<SessionActivity | null> {
  if (!UUID_PATTERN.test(sessionId)) throw new AuditQueryError('id', 'expected a session id (UUID)');
  const { rows } = await db.query<{
    id: string;
    token_prefix: string | null;
    user_identifier: string | null;
    preferences: unknown;
    created_at: Date | string | null;
    last_accessed: Date | string | null;
    expires_at: Date | string | null;
  }>(
    `SELECT id::text AS id, left(token_hash, 8) AS token_prefix, user_identifier, preferences, created_at, last_accessed, expires_at
     FROM user_sessions WHERE id = $1::uuid`,
    [sessionId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const { items } = await listAudit(db, { session: sessionId }, { limit });
  return {
    session: {
      id: row.id,
      tokenPrefix: row.token_prefix,
      userIdentifier: row.user_identifier,
      preferences: row.preferences ?? null,
      createdAt: isoOrNull(row.created_at),
      lastAccessed: isoOrNull(row.last_accessed),
      expiresAt: isoOrNull(row.expires_at),
    },
    recentActivity: items,
  };
}

function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
