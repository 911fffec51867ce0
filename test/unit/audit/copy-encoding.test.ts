import t from 'tap';
import { COPY_COLUMNS, COPY_MAX_TS, encodeCopyChunk, encodeCopyRows } from '../../../src/audit/copy-encoding.js';
import { auditEvent, type AuditEvent } from '../../../src/audit/events.js';
import { auditCaller, auditRoute, HitRow } from '../../../src/audit/hit-row.js';

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

t.test('hit rows written byte by byte read back exactly as their plain events are encoded', async (t) => {
  // A small deterministic generator: the same cases on every run.
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const ids = ['5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e', 'req\\1', 'tab\there', 'ünï-日本-🚀', 'x'.repeat(128), 'nl\nid'];
  const latencies = [0, 0.001, 0.01, 0.1, 0.5, 1, 1.5, 2.25, 12.345, 999.999, 1_000, 86_400_000.001, 9_007_199_254.74, 1e15, 3.4e38];
  const routes = [
    auditRoute({ upstream: 'jira', method: 'GET', path: '/rest/api/3/issue/ABC-1', action: 'jira.issue.read', query: 'expand=names', resourceType: 'issue', resourceId: 'ABC-1' }),
    auditRoute({ method: 'GET', path: '/ünï/\\path', action: 'x' }),
  ];
  const callers = [
    auditCaller({ sessionId: '5f0c6a2e-8d7b-4c1a-9e3f-2b4d6f8a0c1e', userIdentifier: 'bob', clientIp: '::1', userAgent: 'curl/8' }, { ipAddress: 'full', userAgent: 'full' }),
    auditCaller({}, { ipAddress: 'none', userAgent: 'none' }),
  ];
  const rows = Array.from({ length: 400 }, (_, i) =>
    new HitRow(ids[next(ids.length)]!, next(2) === 0 ? Date.UTC(2026, 11, 5) + next(5_000) : next(COPY_MAX_TS), [200, 203, 404, 500][next(4)]!,
      latencies[next(latencies.length)]! + (next(3) === 0 ? next(100_000) / 1_000 : 0), next(3) === 0 ? next(10) : next(2 ** 40), routes[next(2)]!, callers[next(2)]!).normalise(),
  );
  const bytes = encodeCopyChunk(rows)!;
  const asEvents = encodeCopyChunk(rows.map((row) => row.event()))!;
  t.equal(bytes.toString('utf8'), asEvents.toString('utf8'));
  t.ok(bytes.equals(asEvents), 'byte for byte');
  t.equal(bytes.toString('utf8').split('\n').length, 401);
});
