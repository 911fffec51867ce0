/**
 * The right to be forgotten and the data subject access request, over `user_sessions` and
 * `audit_logs` (every partition, DEFAULT included: statements on the parent reach them all).
 */
import type { SqlDatabase } from '../db/sql.js';
import { listAudit, type AuditListing, type AuditPage } from './listing.js';
import { erasedSession, erasedUser } from './pseudonym.js';

export interface ErasureReport {
  /** The stand-in the user's rows now carry (a keyed hash: not their id). */
  readonly pseudonym: string;
  readonly sessionsDeleted: number;
  readonly auditRowsPseudonymised: number;
}

const DELETE_SESSIONS = 'DELETE FROM user_sessions WHERE user_identifier = $1 RETURNING id::text AS id';
const AUDIT_SESSIONS = `
  SELECT DISTINCT session_id::text AS id FROM audit_logs
  WHERE session_id IS NOT NULL AND (user_identifier = $1 OR session_id = ANY($2::uuid[]))`;
// The user id and the session link are replaced by keyed hashes (null stays null, so counts of
// users and sessions do not change); the IP is dropped.
const PSEUDONYMISE = `
  UPDATE audit_logs AS a SET user_identifier = CASE WHEN a.user_identifier IS NULL THEN NULL ELSE $3 END, client_ip = NULL,
    session_id = (SELECT m.stand_in FROM unnest($4::uuid[], $5::uuid[]) AS m(id, stand_in) WHERE m.id = a.session_id)
  WHERE a.user_identifier = $1 OR a.session_id = ANY($2::uuid[])`;

/**
 * Deletes the user's sessions and pseudonymises every audit row of theirs (by user id, or by one
 * of their sessions): user id → `erasedUser`, session → `erasedSession`, client IP → null. One
 * transaction; running it again finds nothing more to do.
 */
export async function eraseUser(db: SqlDatabase, secret: string, user: string): Promise<ErasureReport> {
  const pseudonym = erasedUser(secret, user);
  return db.withClient(async (client) => {
    await client.query('BEGIN');
    try {
      const deleted = (await client.query<{ id: string }>(DELETE_SESSIONS, [user])).rows.map((row) => row.id);
      const sessions = [...new Set([...deleted, ...(await client.query<{ id: string }>(AUDIT_SESSIONS, [user, deleted])).rows.map((row) => row.id)])];
      const standIns = sessions.map((id) => erasedSession(secret, id));
      const updated = await client.query(PSEUDONYMISE, [user, sessions, pseudonym, sessions, standIns]);
      await client.query('COMMIT');
      return { pseudonym, sessionsDeleted: deleted.length, auditRowsPseudonymised: updated.rowCount };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

export interface SubjectSession {
  readonly id: string;
  readonly createdAt: string;
  readonly lastAccessed: string;
  readonly expiresAt: string;
}

export interface SubjectExport {
  readonly user: string;
  /** Every session of the user; on the first page only (null on later ones). */
  readonly sessions: SubjectSession[] | null;
  /** The user's audit rows, newest first, one page. */
  readonly audit: AuditListing;
}

const SESSIONS = `
  SELECT id::text AS id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
         to_char(last_accessed AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "lastAccessed",
         to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "expiresAt"
  FROM user_sessions WHERE user_identifier = $1 ORDER BY created_at, id`;

/** One page of what is held about a user: their sessions (first page) and audit rows (keyset-paginated). */
export async function exportUser(db: SqlDatabase, user: string, page: AuditPage): Promise<SubjectExport> {
  const sessions = page.cursor === undefined ? (await db.query<SubjectSession>(SESSIONS, [user])).rows : null;
  return { user, sessions, audit: await listAudit(db, { user }, page) };
}
