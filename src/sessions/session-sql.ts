// The SQL of the session store (sessions.ts) over `user_sessions` (migrations/0003_user_sessions.sql).
import { msFromTimestamp, timestampFromMs } from '../db/sql-time.js';

// One statement for every pending touch. A touch at or after a row's expires_at renews the row:
// it becomes exactly what a fresh insert would be (new created_at/expires_at, empty preferences,
// this touch's user), so the outcome does not depend on whether cleanup() ran in between.
// Otherwise last_accessed only moves forward (instances flush out of order) and a known user is kept.
export const UPSERT_TOUCHES = `
  INSERT INTO user_sessions AS s (id, token_hash, user_identifier, preferences, created_at, last_accessed, expires_at)
  SELECT d.id, d.token_hash, d.user_identifier, '{}'::jsonb, ${timestampFromMs('d.at')}, ${timestampFromMs('d.at')}, ${timestampFromMs('(d.at + $5::float8)')}
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[]) AS d(id, token_hash, user_identifier, at)
  ON CONFLICT (token_hash) DO UPDATE SET
    created_at      = CASE WHEN s.expires_at <= EXCLUDED.last_accessed THEN EXCLUDED.created_at ELSE s.created_at END,
    expires_at      = CASE WHEN s.expires_at <= EXCLUDED.last_accessed THEN EXCLUDED.expires_at ELSE s.expires_at END,
    preferences     = CASE WHEN s.expires_at <= EXCLUDED.last_accessed THEN EXCLUDED.preferences ELSE s.preferences END,
    user_identifier = CASE WHEN s.expires_at <= EXCLUDED.last_accessed THEN EXCLUDED.user_identifier
                           ELSE COALESCE(EXCLUDED.user_identifier, s.user_identifier) END,
    last_accessed   = CASE WHEN s.expires_at <= EXCLUDED.last_accessed THEN EXCLUDED.last_accessed
                           ELSE GREATEST(s.last_accessed, EXCLUDED.last_accessed) END`;

// SKIP LOCKED lets several instances clean up at once; the outer condition re-checks expiry
// against a row a concurrent flush may just have renewed.
export const DELETE_EXPIRED = `
  DELETE FROM user_sessions WHERE expires_at <= ${timestampFromMs('$1')} AND id IN (
    SELECT id FROM user_sessions WHERE expires_at <= ${timestampFromMs('$1')}
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

export const SELECT_SESSION = `
  SELECT id, user_identifier, preferences, left(token_hash, 8) AS token_hash_prefix,
         ${msFromTimestamp('created_at')} AS created_at, ${msFromTimestamp('last_accessed')} AS last_accessed, ${msFromTimestamp('expires_at')} AS expires_at
  FROM user_sessions WHERE id = $1`;

export interface SessionDbRow {
  id: string;
  user_identifier: string | null;
  preferences: Record<string, unknown>;
  token_hash_prefix: string;
  created_at: number;
  last_accessed: number;
  expires_at: number;
}
