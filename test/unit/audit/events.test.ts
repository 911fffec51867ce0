import t from 'tap';
import { AUDIT_FIELD_LIMITS, auditEvent, UNKNOWN_ACTION, type AuditEventFields } from '../../../src/audit/events.js';

const minimal: AuditEventFields = { requestId: 'r1', method: 'get', path: '/x', action: 'api.read', status: 200, ts: 1_700_000_000_000 };

t.test('fills the optional fields with null (and byte counts with 0); plain data', async (t) => {
  t.same(auditEvent(minimal), {
    requestId: 'r1',
    ts: 1_700_000_000_000,
    sessionId: null,
    userIdentifier: null,
    upstream: null,
    method: 'GET',
    path: '/x',
    query: null,
    action: 'api.read',
    resourceType: null,
    resourceId: null,
    status: 200,
    cacheOutcome: null,
    cacheTier: null,
    totalMs: 0,
    upstreamMs: null,
    requestBytes: 0,
    responseBytes: 0,
    clientIp: null,
    userAgent: null,
    errorCode: null,
  });
  const event = auditEvent(minimal);
  t.same(JSON.parse(JSON.stringify(event)), event, 'survives JSON (the spool format) unchanged');
});

t.test('cuts text to its limit, never inside a surrogate pair', async (t) => {
  const event = auditEvent({
    ...minimal,
    path: '/' + 'p'.repeat(5_000),
    query: 'q=' + 'v'.repeat(10_000),
    userAgent: 'u'.repeat(511) + '😀' + 'tail',
    requestId: 'r'.repeat(500),
  });
  t.equal(event.path.length, AUDIT_FIELD_LIMITS.path);
  t.equal(event.query!.length, AUDIT_FIELD_LIMITS.query);
  t.equal(event.userAgent, 'u'.repeat(511), 'the half emoji at the cut is dropped');
  t.equal(event.requestId.length, AUDIT_FIELD_LIMITS.requestId);
  t.equal(auditEvent({ ...minimal, userAgent: 'u'.repeat(510) + '😀' }).userAgent, 'u'.repeat(510) + '😀', 'a pair that fits is kept');
});

t.test('NUL characters (which Postgres text refuses) are replaced', async (t) => {
  t.equal(auditEvent({ ...minimal, path: '/a\u0000b', userAgent: '\u0000' }).path, '/a\ufffdb');
});

t.test('a session id that is not a UUID is dropped; a UUID is lower-cased', async (t) => {
  t.equal(auditEvent({ ...minimal, sessionId: 'abc' }).sessionId, null);
  t.equal(auditEvent({ ...minimal, sessionId: '5F0C6A2E-8D7B-4C1A-9E3F-2B4D6F8A0C1E' }).sessionId, '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e');
});

t.test('numbers are made finite, non-negative integers where the column is one', async (t) => {
  const event = auditEvent({ ...minimal, status: 1e9, totalMs: Number.NaN, upstreamMs: -1, requestBytes: 12.7, responseBytes: Infinity, ts: 1.6 });
  t.equal(event.status, 999);
  t.equal(event.totalMs, 0);
  t.equal(event.upstreamMs, 0);
  t.equal(event.requestBytes, 12);
  t.equal(event.responseBytes, Number.MAX_SAFE_INTEGER);
  t.equal(event.ts, 2);
  t.equal(auditEvent({ ...minimal, status: Number.NaN }).status, 0);
  t.equal(auditEvent({ ...minimal, totalMs: Infinity }).totalMs, 3.4e38, 'within float4');
  t.equal(auditEvent({ ...minimal, totalMs: 3.4e38 }).totalMs, 3.4e38);
  t.same([auditEvent({ ...minimal, totalMs: 0.41234599995613098, upstreamMs: 120.0004999 }).totalMs, auditEvent({ ...minimal, upstreamMs: 120.0004999 }).upstreamMs], [0.412, 120], 'latencies to the microsecond');
  t.equal(auditEvent({ ...minimal, totalMs: 1e-7 }).totalMs, 0);
  const now = Date.now();
  t.ok(auditEvent({ ...minimal, ts: Number.NaN }).ts >= now, 'no usable ts: now');
  t.ok(auditEvent({ ...minimal, ts: undefined }).ts >= now);
});

t.test('cache outcome: one of HIT, MISS, STALE, REVALIDATED, BYPASS (any case), else null', async (t) => {
  t.equal(auditEvent({ ...minimal, cacheOutcome: 'hit' as never }).cacheOutcome, 'HIT');
  t.equal(auditEvent({ ...minimal, cacheOutcome: 'STALE' }).cacheOutcome, 'STALE');
  t.equal(auditEvent({ ...minimal, cacheOutcome: 'REVALIDATED' }).cacheOutcome, 'REVALIDATED');
  t.equal(auditEvent({ ...minimal, cacheOutcome: 'PARTIAL' as never }).cacheOutcome, null);
});

t.test('empty text becomes null (or a default for the required fields); a leading "?" is dropped from the query', async (t) => {
  const event = auditEvent({ ...minimal, requestId: '', method: '', action: '', query: '?a=1', userIdentifier: '', errorCode: '' });
  t.match(event.requestId, /^[0-9a-f-]{36}$/, 'a fresh id');
  t.equal(event.method, 'UNKNOWN');
  t.equal(event.action, UNKNOWN_ACTION);
  t.equal(event.query, 'a=1');
  t.equal(event.userIdentifier, null);
  t.equal(event.errorCode, null);
  t.equal(auditEvent({ ...minimal, query: '?' }).query, null);
});

t.test('idempotent: normalising a normalised event changes nothing', async (t) => {
  const once = auditEvent({ ...minimal, path: 'x'.repeat(3_000), cacheOutcome: 'miss' as never, totalMs: 3.25, sessionId: '5F0C6A2E-8D7B-4C1A-9E3F-2B4D6F8A0C1E' });
  t.same(auditEvent(once), once);
});
