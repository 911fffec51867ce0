import t from 'tap';
import { COPY_COLUMNS, COPY_MAX_TS, encodeCopyRows } from '../../../src/audit/copy.js';
import { auditEvent, type AuditEvent } from '../../../src/audit/events.js';
import { auditCaller, auditRoute, HitRow } from '../../../src/audit/hit-row.js';
import { isDataError, isServerError } from '../../../src/audit/insert.js';

const event = (overrides: Partial<AuditEvent> = {}): AuditEvent =>
  auditEvent({ requestId: 'r1', ts: Date.UTC(2026, 0, 15, 12, 0, 0, 7), method: 'GET', path: '/x', action: 'a.read', status: 200, ...overrides });

/** COPY text format read back the way Postgres reads it: fields split on tabs, `\N` null, backslash escapes undone. */
function parseCopyLine(line: string): Array<string | null> {
  return line.split('\t').map((field) => {
    if (field === '\\N') return null;
    return field.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '\\': '\\' })[c] ?? c);
  });
}

t.test('encodeCopyRows: one line per event, 21 tab-separated fields in COPY_COLUMNS order', async (t) => {
  const full = event({
    sessionId: '5F0C6A2E-8D7B-4C1A-9E3F-2B4D6F8A0C1E',
    userIdentifier: 'alice\t(admin)',
    upstream: 'salesforce',
    query: 'q=a\\b&token=[REDACTED]',
    resourceType: 'Account',
    resourceId: '001\n002',
    cacheOutcome: 'HIT',
    cacheTier: 'memory',
    totalMs: 1.25,
    upstreamMs: 0,
    requestBytes: 12,
    responseBytes: 2048,
    clientIp: '10.0.0.7',
    userAgent: 'agent\r\nX-Injected: 1',
    errorCode: 'upstream_timeout',
  });
  const text = encodeCopyRows([full, event({ requestId: 'r2' })])!;
  t.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  t.equal(lines.length, 2, 'newlines inside values do not split lines');
  const fields = parseCopyLine(lines[0]!);
  t.equal(fields.length, COPY_COLUMNS.length);
  t.same(Object.fromEntries(COPY_COLUMNS.map((c, i) => [c, fields[i]])), {
    request_id: 'r1',
    ts: '2026-01-15T12:00:00.007Z',
    session_id: '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e',
    user_identifier: 'alice\t(admin)',
    upstream: 'salesforce',
    method: 'GET',
    path: '/x',
    query: 'q=a\\b&token=[REDACTED]',
    action: 'a.read',
    resource_type: 'Account',
    resource_id: '001\n002',
    status: '200',
    cache_outcome: 'HIT',
    cache_tier: 'memory',
    total_ms: '1.25',
    upstream_ms: '0',
    request_bytes: '12',
    response_bytes: '2048',
    client_ip: '10.0.0.7',
    user_agent: 'agent\r\nX-Injected: 1',
    error_code: 'upstream_timeout',
  });
  t.same(parseCopyLine(lines[1]!).filter((f) => f === null).length, 12, 'absent optional fields are \\N');
});

t.test('encodeCopyRows formats every millisecond like toISOString, across seconds and years', async (t) => {
  const times = [0, 1, 9, 10, 99, 100, 999, 1_000, 1_001, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2026, 5, 30, 0, 0, 0, 50), COPY_MAX_TS - 1];
  const lines = encodeCopyRows(times.map((ts, i) => event({ requestId: `r${i}`, ts })))!.slice(0, -1).split('\n');
  t.same(lines.map((line) => line.split('\t')[1]), times.map((ts) => new Date(ts).toISOString()));
});

t.test('encodeCopyRows declines a batch it cannot copy exactly', async (t) => {
  t.equal(encodeCopyRows([event(), event({ ts: COPY_MAX_TS })]), null, 'a ts past 2106: the batch is inserted instead');
  t.equal(encodeCopyRows([]), '');
});

t.test('a very long user agent is cut by the event, then copied whole', async (t) => {
  const ua = `Mozilla/5.0 ${'x\t'.repeat(2_000)}`;
  const line = encodeCopyRows([event({ userAgent: ua })])!.slice(0, -1);
  const fields = parseCopyLine(line);
  t.equal(fields[COPY_COLUMNS.indexOf('user_agent')], ua.slice(0, 512));
});

t.test('isServerError tells an answer from Postgres from a failed connection', async (t) => {
  t.ok(isServerError(Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' })));
  t.ok(isServerError(Object.assign(new Error('canceling statement'), { code: '57014', severity: 'ERROR' })));
  t.notOk(isServerError(Object.assign(new Error('broken pipe'), { code: 'EPIPE' })), 'a five-letter errno is not a SQLSTATE');
  t.notOk(isServerError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })));
  t.notOk(isServerError(new Error('Connection terminated unexpectedly')));
  t.notOk(isServerError(null));
  t.ok(isDataError({ code: '22P02' }));
  t.notOk(isDataError({ code: '57014' }));
});

t.test('a memory hit row is copied as the same line its plain event would be', async (t) => {
  const route = auditRoute({ upstream: 'salesforce', method: 'get', path: '/sobjects/Account/001\t2', query: 'q=a\\b', action: 'salesforce.sobject.read', resourceType: 'Account', resourceId: '001\n2' });
  const caller = auditCaller({ sessionId: '5F0C6A2E-8D7B-4C1A-9E3F-2B4D6F8A0C1E', userIdentifier: 'alice\t(admin)', clientIp: '203.0.113.9', userAgent: 'agent\r\nX: 1' }, { ipAddress: 'truncated', userAgent: 'full' });
  const hit = new HitRow('r1', Date.UTC(2026, 0, 15, 12, 0, 0, 7), 200, 0.1234567, 2048, route, caller).normalise();
  const [hitLine, eventLine] = encodeCopyRows([hit, hit.event()])!.slice(0, -1).split('\n');
  t.equal(hitLine, eventLine);
  const fields = Object.fromEntries(COPY_COLUMNS.map((c, i) => [c, parseCopyLine(hitLine!)[i]]));
  t.match(fields, {
    request_id: 'r1', total_ms: '0.123', method: 'GET', path: '/sobjects/Account/001\t2', resource_id: '001\n2', session_id: '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e',
    client_ip: '203.0.113.0', user_agent: 'agent\r\nX: 1', cache_outcome: 'HIT', cache_tier: 'memory', upstream_ms: null, request_bytes: '0', error_code: null,
  });
});
