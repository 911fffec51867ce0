import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { eraseUser, exportUser } from '../audit/erasure.js';
import { sleep, systemClock } from '../resilience/clock.js';
import type { AuditEventFields } from '../audit/events.js';
import { MAX_LIMIT } from '../audit/queries.js';
import type { SqlDatabase } from '../db/sql.js';
import { AdminError, adminErrorSchema } from './errors.js';

/**
 * Privacy requests about one user, registered under the admin prefix (`/admin`):
 *
 *   POST /privacy/erase  {"user": "<id>"}   delete their sessions, pseudonymise their audit rows
 *   GET  /privacy/export?user=&limit=&cursor=   their sessions and audit rows (a subject access request)
 */
export interface PrivacyRoutesOptions {
  /** null: the routes answer 503 `audit_unavailable`. */
  readonly db: SqlDatabase | null;
  /** The key secret the stand-ins are keyed with (the same on every instance). */
  readonly secret: () => string;
  /** The audit trail: flushed before an erase (so buffered rows are erased too), and told of the erase itself. */
  readonly audit: { record(event: AuditEventFields): void; flush(): Promise<void>; replayPending(): boolean } | null;
}

const User = Type.String({ minLength: 1, maxLength: 256, description: 'expected a user identifier (1-256 characters)' });
const EraseBody = Type.Object({ user: User }, { additionalProperties: false });
const ExportQuery = Type.Object(
  {
    user: User,
    limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 100, description: `expected an integer from 1 to ${MAX_LIMIT}` }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,1024}$', description: 'expected the audit.nextCursor of a previous page' })),
  },
  { additionalProperties: false },
);
const EraseResponse = Type.Object({ pseudonym: Type.String(), sessionsDeleted: Type.Integer(), auditRowsPseudonymised: Type.Integer() });
const errors = { '4xx': adminErrorSchema, '5xx': adminErrorSchema };

/** How long an erase waits for spooled audit rows to be replayed before it asks the caller to retry. */
const SPOOL_SETTLE_MS = 5_000;
const SPOOL_POLL_MS = 50;

/** Flushes the audit buffer, then waits for the spool to be replayed; false if rows still wait after `timeoutMs`. */
async function settled(audit: NonNullable<PrivacyRoutesOptions['audit']>, timeoutMs: number): Promise<boolean> {
  await audit.flush();
  const deadline = Date.now() + timeoutMs;
  while (audit.replayPending()) {
    if (Date.now() >= deadline) return false;
    await sleep(systemClock, SPOOL_POLL_MS);
  }
  return true;
}

export const privacyRoutes: FastifyPluginAsync<PrivacyRoutesOptions> = async (app, options) => {
  const database = (): SqlDatabase => {
    if (options.db === null) throw new AdminError('audit_unavailable');
    return options.db;
  };

  app.post<{ Body: Static<typeof EraseBody> }>(
    '/privacy/erase',
    { schema: { summary: "Erase a user: delete their sessions, pseudonymise their audit rows", tags: ['privacy'], body: EraseBody, response: { 200: EraseResponse, ...errors } } },
    async (request) => {
      const db = database();
      // Rows still in the writer's buffer, or spooled during an outage, are written first, so the
      // erase reaches them too; rows replayed after it would carry the id it erased.
      if (options.audit !== null && !(await settled(options.audit, SPOOL_SETTLE_MS))) {
        throw new AdminError('audit_spool_pending', undefined, { retryAfterMs: SPOOL_SETTLE_MS });
      }
      const report = await eraseUser(db, options.secret(), request.body.user);
      // The erase is audited under the stand-in, never the id it erased.
      options.audit?.record({
        requestId: request.id,
        ts: Date.now(),
        method: 'POST',
        path: '/admin/privacy/erase',
        action: 'admin.privacy.erase',
        resourceType: 'user',
        resourceId: report.pseudonym,
        status: 200,
        responseBytes: 0,
      });
      return report;
    },
  );

  app.get<{ Querystring: Static<typeof ExportQuery> }>(
    '/privacy/export',
    { schema: { summary: "A user's sessions and audit rows (subject access request), paged", tags: ['privacy'], querystring: ExportQuery, response: { ...errors } } },
    async (request) => {
      const { user, limit, cursor } = request.query;
      return exportUser(database(), user, cursor === undefined ? { limit } : { limit, cursor });
    },
  );
};
