import t from 'tap';
import { COPY_COLUMNS, COPY_MAX_TS, copyText, encodeCopyRows } from '../../../src/audit/copy.js';
import { auditEvent, type AuditEvent } from '../../../src/audit/events.js';
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

t.test('copyText escapes exactly what COPY text format needs', async (t) => {
  t.equal(copyText(null), '\\N', 'null');
  t.equal(copyText(''), '', 'an empty string is not null');
  t.equal(copyText('plain /path?x=1&y=2'), 'plain /path?x=1&y=2', 'nothing to escape: the same string');
  t.equal(copyText('a\tb'), 'a\\tb');
  t.equal(copyText('a\nb\r\nc'), 'a\\nb\\r\\nc');
  t.equal(copyText('C:\\dir\\file'), 'C:\\\\dir\\\\file');
  t.equal(copyText('\\N'), '\\\\N', 'the text \\N stays text, not null');
  t.equal(copyText('\\.'), '\\\\.', 'an end-of-data marker cannot be forged');
  t.equal(copyText('ünïcødé 日本 🚀'), 'ünïcødé 日本 🚀', 'non-ASCII untouched (sent as UTF-8)');
  t.equal(copyText('\\\t\n\r'), '\\\\\\t\\n\\r');
});

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
