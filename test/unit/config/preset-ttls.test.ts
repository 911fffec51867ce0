import t from 'tap';
import { load, problemsOf } from './fixtures/helpers.js';

const salesforce = (extra: Record<string, unknown> = {}) => ({
  upstreams: [{ name: 'salesforce', prefix: '/salesforce', target: 'https://acme.my.salesforce.com', preset: 'salesforce', ...extra }],
});
const jira = { name: 'jira', prefix: '/jira', target: 'https://acme.atlassian.net', preset: 'jira' };
const ttls = (config: ReturnType<typeof load>['config'], upstream = 0) => Object.fromEntries(config.upstreams[upstream]!.rules.filter((r) => r.cache).map((r) => [r.name, r.ttlMs]));

t.test('preset ttls: records and queries from CACHE_TTL_DEFAULT, metadata from CACHE_TTL_LONG', async (t) => {
  const shipped = load(t, { upstreams: [...salesforce().upstreams, jira] }).config;
  t.equal(ttls(shipped)['salesforce.query'], 300_000, 'unset: 5 minutes');
  t.equal(ttls(shipped)['salesforce.sobject-describe'], 3_600_000, 'unset: 1 hour');

  const { config } = load(t, { upstreams: [...salesforce().upstreams, jira] }, { CACHE_TTL_DEFAULT: '2', CACHE_TTL_LONG: '1d' });
  t.same(ttls(config, 0), {
    'salesforce.query': 2000,
    'salesforce.queryAll': 2000,
    'salesforce.query-page': 2000,
    'salesforce.queryAll-page': 2000,
    'salesforce.sobject-describe': 86_400_000,
    'salesforce.sobjects': 86_400_000,
    'salesforce.sobject-read': 2000,
    'salesforce.composite-read': 2000,
  });
  t.same(ttls(config, 1), {
    'jira.issue-read': 2000,
    'jira.search-jql': 2000,
    'jira.search-jql-post': 2000,
    'jira.search-legacy': 2000,
    'jira.search-legacy-post': 2000,
    'jira.field': 86_400_000,
    'jira.project': 86_400_000,
    'jira.status': 86_400_000,
    'jira.priority': 86_400_000,
  });
});

t.test('a bad CACHE_TTL_DEFAULT is a problem naming the variable', async (t) => {
  const problems = problemsOf(t, salesforce(), { CACHE_TTL_DEFAULT: 'soon' });
  t.ok(problems.length > 0);
  t.match(problems[0], /^presets\.salesforce\.rules\[2\]\.ttl: must be a duration.*\(from CACHE_TTL_DEFAULT="soon"\)$/);
  t.match(problemsOf(t, salesforce(), { CACHE_TTL_DEFAULT: '0' })[0], /ttl: must be a duration greater than 0.*CACHE_TTL_DEFAULT="0"/);
});

t.test('overrides: any rule by name, without copying it', async (t) => {
  const { config } = load(t, salesforce({ overrides: { 'salesforce.query': { ttl: '1m', staleWhileRevalidate: '0s' }, 'salesforce.limits': { cache: false } } }), { CACHE_TTL_DEFAULT: '2' });
  const query = config.upstreams[0]!.rules.find((r) => r.name === 'salesforce.query')!;
  t.match(query, { ttlMs: 60_000, staleWhileRevalidateMs: 0, path: '/services/data/:v/query', tags: ['sf:query:{soql:q}'] }, 'the rest of the rule is kept');
  t.equal(ttls(config)['salesforce.queryAll'], 2000, 'other rules untouched');
});

t.test('an override naming an unknown rule is a problem naming it', async (t) => {
  const problems = problemsOf(t, salesforce({ overrides: { 'salesforce.qurey': { ttl: '1m' } } }));
  t.equal(problems.length, 1);
  t.match(problems[0], /^upstreams\[0\]\.overrides\["salesforce\.qurey"\]: no rule of this upstream is named "salesforce\.qurey" \(rules: salesforce\.limits, salesforce\.oauth, salesforce\.query,/);
  t.match(problemsOf(t, salesforce({ overrides: { 'salesforce.query': { ttl: 'later' } } })), [/^upstreams\[0\]\.overrides\["salesforce\.query"\]\.ttl: must be a duration/]);
  t.match(problemsOf(t, salesforce({ overrides: { 'salesforce.query': { name: 'x' } } })), ['upstreams[0].overrides["salesforce.query"].name: unknown key']);
});

t.test('publicUrl and quotaSaver', async (t) => {
  const { config } = load(t, salesforce({ publicUrl: 'https://sidecache.internal/salesforce/', quotaSaver: { threshold: 0.8 } }));
  t.equal(config.upstreams[0]!.publicUrl, 'https://sidecache.internal/salesforce');
  t.same(config.upstreams[0]!.quotaSaver, { enabled: true, threshold: 0.8 });
  t.same(load(t, salesforce()).config.upstreams[0]!.quotaSaver, { enabled: true, threshold: 0.9 }, 'on at 90 % by default');
  t.equal(load(t, salesforce({ publicUrl: '' })).config.upstreams[0]!.publicUrl, null);
  t.same(problemsOf(t, salesforce({ quotaSaver: { threshold: 90 } })), ['upstreams[0].quotaSaver.threshold: must be a share of the limit above 0 and at most 1, such as 0.9']);
  t.same(problemsOf(t, salesforce({ publicUrl: 'sidecache.internal' })), ['upstreams[0].publicUrl: must be an absolute http(s) URL']);
});
