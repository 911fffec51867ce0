import t from 'tap';
import { auditEvent, type AuditEventFields } from '../../../src/audit/events.js';
import { auditCaller, auditEvents, auditRoute, HitRow } from '../../../src/audit/hit-row.js';
import { withPrivacy, type AuditPrivacy } from '../../../src/audit/privacy.js';

const FULL: AuditPrivacy = { ipAddress: 'full', userAgent: 'full' };

const fields = (over: Partial<AuditEventFields> = {}): AuditEventFields => ({
  requestId: 'req-1',
  ts: Date.UTC(2026, 11, 5, 12, 0, 0, 42),
  sessionId: '5F0C6A2E-8D7B-4C1A-9E3F-2B4D6F8A0C1E',
  userIdentifier: 'alice@example.com',
  upstream: 'salesforce',
  method: 'GET',
  path: '/sobjects/Account/001',
  query: 'fields=Name&access_token=[REDACTED]',
  action: 'salesforce.sobject.read',
  resourceType: 'Account',
  resourceId: '001',
  status: 200,
  cacheOutcome: 'HIT',
  cacheTier: 'memory',
  totalMs: 0.1234567,
  upstreamMs: null,
  requestBytes: 0,
  responseBytes: 2048,
  clientIp: '203.0.113.9',
  userAgent: 'deploy-assistant/1.0',
  errorCode: null,
  ...over,
});

function hitOf(f: AuditEventFields, privacy: AuditPrivacy = FULL): HitRow {
  const route = auditRoute(f);
  const caller = auditCaller(f, privacy);
  return new HitRow(f.requestId, f.ts!, f.status, f.totalMs!, f.responseBytes!, route, caller);
}

t.test('a memory hit row normalises to the very event auditEvent makes of the same fields', async (t) => {
  for (const privacy of [FULL, { ipAddress: 'truncated', userAgent: 'none' }, { ipAddress: 'none', userAgent: 'full' }] as AuditPrivacy[]) {
    const f = fields();
    t.same(hitOf(f, privacy).normalise().event(), withPrivacy(auditEvent(f), privacy), `${privacy.ipAddress} / ${privacy.userAgent}`);
  }
});

t.test('odd values are normalised exactly as events are', async (t) => {
  const f = fields({
    requestId: 'r'.repeat(300),
    ts: Number.NaN,
    sessionId: 'not-a-uuid',
    userIdentifier: 'x'.repeat(300),
    method: 'get',
    path: '/a\u0000b',
    query: '',
    action: '',
    resourceId: '',
    status: 1_000.7,
    totalMs: -3,
    responseBytes: Number.POSITIVE_INFINITY,
    clientIp: '',
    userAgent: `ua ${'\ud83d\ude80'.repeat(300)}`,
  });
  const hit = hitOf(f).normalise().event();
  const expected = auditEvent(f);
  t.ok(Math.abs(hit.ts - Date.now()) < 5_000 && Math.abs(expected.ts - Date.now()) < 5_000, 'a bad ts becomes now, in both');
  t.same({ ...hit, ts: 0 }, { ...expected, ts: 0 });
  t.equal(hit.requestId.length, 128);
  t.equal(hit.action, 'unknown');
  t.ok(hit.userAgent!.length <= 512 && !/[\ud800-\udbff]$/.test(hit.userAgent!), 'cut to 512, never inside a surrogate pair');
});

t.test('normalise is idempotent and keeps the parts by reference', async (t) => {
  const hit = hitOf(fields());
  const { route, caller } = hit;
  const once = hit.normalise().event();
  t.same(hit.normalise().event(), once);
  t.equal(hit.route, route);
  t.equal(hit.caller, caller);
});

t.test('parts are COPY-encoded once: tabs, newlines and backslashes escaped, nulls as \\N', async (t) => {
  const route = auditRoute({ upstream: null, method: 'GET', path: '/a\tb', query: 'q=a\\b', action: 'x.read', resourceType: null, resourceId: '1\n2' });
  t.equal(route.copy.toString('utf8'), '\\N\tGET\t/a\\tb\tq=a\\\\b\tx.read\t\\N\t1\\n2');
  const caller = auditCaller({ sessionId: null, userIdentifier: 'bob', clientIp: '2001:db8:85a3::8a2e:370:7334', userAgent: null }, { ipAddress: 'truncated', userAgent: 'full' });
  t.equal(caller.copy.toString('utf8'), '\\N\tbob\t2001:db8:85a3::\t\\N');
});

t.test('auditEvents turns rows into plain events and leaves events as they are', async (t) => {
  const event = auditEvent(fields({ cacheOutcome: 'MISS', cacheTier: null, upstreamMs: 812 }));
  const hit = hitOf(fields()).normalise();
  const [first, second] = auditEvents([event, hit]);
  t.equal(first, event);
  t.match(second, { cacheOutcome: 'HIT', cacheTier: 'memory', upstreamMs: null, requestBytes: 0, errorCode: null, requestId: 'req-1' });
});

t.test("a part's bytes are its own, not a slice of Node's shared buffer pool", async (t) => {
  const route = auditRoute({ method: 'GET', path: '/x', action: 'x.read' });
  const caller = auditCaller({ userIdentifier: 'bob' }, FULL);
  for (const bytes of [route.copy, caller.copy]) {
    t.equal(bytes.byteOffset, 0);
    t.equal(bytes.buffer.byteLength, bytes.length);
  }
});
