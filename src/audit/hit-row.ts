import { copyText } from './copy-text.js';
import { auditEvent, ownValue, type AuditEvent, type AuditEventFields } from './events.js';
import { keptAddress, keptUserAgent, type AuditPrivacy } from './privacy.js';

/**
 * A memory hit's audit row, recorded as a few field writes (pure). Most of a row does not change
 * from one hit to the next: what the URL decides (upstream, path, query, action, resource) and who
 * asked (session, user, address, client). Those parts are normalised (events.ts) and COPY-encoded
 * once — per URL by the hit lane, per caller by the writer — and a hit's row holds them by
 * reference next to the five values that are its own. The writer copies such rows into the COPY
 * data byte by byte (copy-encoding.ts); the spool and the INSERT path take them as plain events (`event()`).
 */

/** Normalised text of a row's URL part, and its COPY columns (COPY_COLUMNS order, tab-separated, UTF-8). */
export interface AuditRoute {
  readonly upstream: string | null;
  readonly method: string;
  readonly path: string;
  readonly query: string | null;
  readonly action: string;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly copy: Buffer;
}

/** Normalised text of a row's caller part (privacy applied), and its COPY columns. */
export interface AuditCaller {
  readonly sessionId: string | null;
  readonly userIdentifier: string | null;
  readonly clientIp: string | null;
  readonly userAgent: string | null;
  readonly copy: Buffer;
}

export type AuditRouteFields = Pick<AuditEventFields, 'method' | 'path' | 'action'> & Partial<Pick<AuditEventFields, 'upstream' | 'query' | 'resourceType' | 'resourceId'>>;
export type AuditCallerFields = Partial<Pick<AuditEventFields, 'sessionId' | 'userIdentifier' | 'clientIp' | 'userAgent'>>;

/**
 * The columns as COPY text, UTF-8, in a buffer of their own: a small `Buffer.from` is a slice of
 * Node's shared 8 KB pool, and a part kept for as long as its URL or caller is would keep that
 * whole slab alive.
 */
function copyColumns(values: ReadonlyArray<string | null>): Buffer {
  const text = values.map(copyText).join('\t');
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 0, 'utf8');
  return bytes;
}

/** The URL part of a row, normalised as auditEvent would and COPY-encoded. */
export function auditRoute(fields: AuditRouteFields): AuditRoute {
  const e = auditEvent({ requestId: '-', status: 0, ...fields });
  const copy = copyColumns([e.upstream, e.method, e.path, e.query, e.action, e.resourceType, e.resourceId]);
  return { upstream: e.upstream, method: e.method, path: e.path, query: e.query, action: e.action, resourceType: e.resourceType, resourceId: e.resourceId, copy };
}

/** The caller part of a row, normalised as auditEvent would, `audit.ipAddress`/`audit.userAgent` applied, and COPY-encoded. */
export function auditCaller(fields: AuditCallerFields, privacy: AuditPrivacy): AuditCaller {
  const e = auditEvent({ requestId: '-', method: '-', path: '-', action: '-', status: 0, ...fields });
  const clientIp = keptAddress(e.clientIp, privacy.ipAddress);
  const userAgent = keptUserAgent(e.userAgent, privacy.userAgent);
  const copy = copyColumns([e.sessionId, e.userIdentifier, clientIp, userAgent]);
  return { sessionId: e.sessionId, userIdentifier: e.userIdentifier, clientIp, userAgent, copy };
}

/** A memory hit: cache outcome HIT from the memory tier, no upstream call, no request body, no error. */
export class HitRow {
  constructor(
    public requestId: string,
    /** Epoch ms the request arrived. */
    public ts: number,
    public status: number,
    public totalMs: number,
    public responseBytes: number,
    readonly route: AuditRoute,
    readonly caller: AuditCaller,
  ) {}

  /** Normalises the row's own values in place, as auditEvent would (idempotent); returns the row. */
  normalise(): this {
    this.requestId = ownValue.requestId(this.requestId);
    this.ts = ownValue.ts(this.ts);
    this.status = ownValue.status(this.status);
    this.totalMs = ownValue.totalMs(this.totalMs);
    this.responseBytes = ownValue.bytes(this.responseBytes);
    return this;
  }

  /** The row as a plain event (for the spool and the INSERT path). */
  event(): AuditEvent {
    const { route, caller } = this;
    return {
      requestId: this.requestId,
      ts: this.ts,
      sessionId: caller.sessionId,
      userIdentifier: caller.userIdentifier,
      upstream: route.upstream,
      method: route.method,
      path: route.path,
      query: route.query,
      action: route.action,
      resourceType: route.resourceType,
      resourceId: route.resourceId,
      status: this.status,
      cacheOutcome: 'HIT',
      cacheTier: 'memory',
      totalMs: this.totalMs,
      upstreamMs: null,
      requestBytes: 0,
      responseBytes: this.responseBytes,
      clientIp: caller.clientIp,
      userAgent: caller.userAgent,
      errorCode: null,
    };
  }
}

/** A row as the writer holds it once normalised. */
export type AuditRow = AuditEvent | HitRow;

/** A row as a plain event, for the paths that take nothing else (the spool, the INSERT). */
export const eventOf = (row: AuditRow): AuditEvent => (row instanceof HitRow ? row.event() : row);

/** Rows as plain events. */
export const auditEvents = (rows: readonly AuditRow[]): AuditEvent[] => rows.map(eventOf);
