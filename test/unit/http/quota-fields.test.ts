import t from 'tap';
import { readQuotaFields } from '../../../src/http/quota-fields.js';

const NOW = Date.UTC(2026, 0, 1, 12);

t.test('Salesforce Sforce-Limit-Info: api-usage used/limit', async (t) => {
  t.same(readQuotaFields({ 'sforce-limit-info': 'api-usage=18022/100000' }, NOW), {
    report: { used: 18022, limit: 100000, nearLimit: false, resetAt: null },
    retryAfterSeconds: null,
    problems: [],
  });
  t.same(readQuotaFields({ 'Sforce-Limit-Info': 'per-app-api-usage=3/50(appName=x), api-usage = 7/15000' }, NOW).report, { used: 7, limit: 15000, nearLimit: false, resetAt: null }, 'any case, beside other parts');
});

t.test('Jira X-RateLimit-*: used is limit minus remaining; reset and near-limit read', async (t) => {
  const reading = readQuotaFields(
    { 'x-ratelimit-limit': '350', 'x-ratelimit-remaining': '20', 'x-ratelimit-reset': '2026-01-01T13:00Z', 'x-ratelimit-nearlimit': 'true', 'retry-after': '30' },
    NOW,
  );
  t.same(reading, { report: { used: 330, limit: 350, nearLimit: true, resetAt: Date.UTC(2026, 0, 1, 13), }, retryAfterSeconds: 30, problems: [] });
  t.same(readQuotaFields({ 'x-ratelimit-nearlimit': 'false' }, NOW).report, { used: null, limit: null, nearLimit: false, resetAt: null });
});

t.test('no quota field: no report; Retry-After alone is still read', async (t) => {
  t.same(readQuotaFields({ 'content-type': 'application/json' }, NOW), { report: null, retryAfterSeconds: null, problems: [] });
  t.same(readQuotaFields({ 'retry-after': 'Thu, 01 Jan 2026 12:01:00 GMT' }, NOW), { report: null, retryAfterSeconds: 60, problems: [] });
});

t.test('malformed fields are named as problems and ignored, never thrown', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ 'sforce-limit-info': 'api-usage=lots' }, 'sforce-limit-info'],
    [{ 'sforce-limit-info': 'api-usage=5/0' }, 'sforce-limit-info'],
    [{ 'x-ratelimit-limit': '-1' }, 'x-ratelimit-limit'],
    [{ 'x-ratelimit-remaining': '1e3' }, 'x-ratelimit-remaining'],
    [{ 'x-ratelimit-reset': '1' }, 'x-ratelimit-reset'],
    [{ 'x-ratelimit-nearlimit': 'maybe' }, 'x-ratelimit-nearlimit'],
  ];
  for (const [headers, field] of cases) {
    const reading = readQuotaFields(headers, NOW);
    t.same(reading.problems, [{ field }], `${JSON.stringify(headers)} names ${field}`);
    t.equal(reading.report?.used ?? null, null);
  }
  t.same(readQuotaFields({ 'sforce-limit-info': ['api-usage=1/10', 'api-usage=2/10'] }, NOW).report?.used, 1, 'a repeated field: the first');
});
