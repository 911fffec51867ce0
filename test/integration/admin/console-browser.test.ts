import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { buildConsole } from '../../../scripts/build-console.js';
import { buildInstanceAdminApp } from '../../../src/admin/instance.js';
import { buildApp } from '../../../src/app.js';
import { TEST_ADMIN_TOKEN } from '../../helpers/admin.js';
import { browserOrSkip } from '../../helpers/browser.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

// Issue 16, "done when": a real headless Chromium logs in, watches the overview move with
// traffic, browses and purges an entry (the next request MISSes), runs a tag invalidation,
// opens the activity charts (their counts match /admin/audit/report), looks up a session, and
// is shown an error, not data, for a wrong token. Each screen is saved to docs/console/.
const SCREENSHOTS = process.env['CONSOLE_SCREENSHOTS_DIR'] || fileURLToPath(new URL('../../../docs/console/', import.meta.url));
const SESSION_TOKEN = 'browser-session-token-0123456789';

t.setTimeout(60_000);

t.test('the console in a real browser', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const browser = await browserOrSkip(t);
  if (browser === null) return;
  const { page } = browser;

  const db = await target.open(t, { migrate: false });
  const upstream = await startFakeUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-upstream-secret-header', 'never-shown');
    res.end(JSON.stringify({ id: req.url, name: 'Acme', access_token: 'BODY-SECRET-TOKEN', owner: { password: 'hunter2' } }));
  });
  t.teardown(() => upstream.close());
  const config = testConfig(
    [
      {
        target: upstream.url,
        rules: [
          { name: 'item', path: '/items/:id', scope: 'shared', tags: ['item:{id}'] },
          { name: 'search', path: '/search', scope: 'shared' },
        ],
      },
    ],
    { database: { url: db.url! }, audit: { enabled: true, flushIntervalMs: 50, spoolDir: t.testdir({}) }, admin: { token: TEST_ADMIN_TOKEN } },
  );
  const consoleDir = t.testdir({});
  await buildConsole(consoleDir);
  const sidecache = await buildApp(config, { logger: false, processMetrics: false });
  const admin = buildInstanceAdminApp(sidecache, config, { shareLogger: false, consoleDir });
  t.teardown(async () => {
    await admin.close();
    await sidecache.app.close();
  });
  await sidecache.app.listen({ host: '127.0.0.1', port: 0 });
  await admin.listen({ host: '127.0.0.1', port: 0 });
  const proxyUrl = `http://127.0.0.1:${(sidecache.app.server.address() as AddressInfo).port}`;
  const adminUrl = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
  const proxied = async (path: string, headers: Record<string, string> = {}) => {
    const response = await request(proxyUrl + path, { headers });
    await response.body.dump();
    return String(response.headers['x-cache']);
  };
  const api = async <T>(path: string): Promise<T> => (await admin.inject({ url: path, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json() as T;
  await mkdir(SCREENSHOTS, { recursive: true });
  const shot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    // The browser logs every 4xx the tests provoke (the wrong tokens) as a failed resource.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });

  await t.test('a wrong token shows an error, not data', async (t) => {
    await page.goto(`${adminUrl}/console/`);
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    const error = page.getByTestId('error');
    await error.waitFor();
    t.match(await error.textContent(), /refused \(403 forbidden\)/);
    t.equal(await page.getByTestId('screen-overview').count(), 0, 'no screen rendered');
    t.equal(await page.evaluate(() => sessionStorage.getItem('sidecache.adminToken')), null, 'a refused token is not kept');
    await shot('login-error');
  });

  await t.test('log in; the overview moves as traffic flows', async (t) => {
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('button[type=submit]');
    const requests = page.getByTestId('overview-requests');
    await requests.waitFor();
    t.equal(await requests.textContent(), '0', 'an empty install reads zero');
    t.equal(await page.evaluate(() => document.cookie), '', 'no cookie holds the token');

    for (const id of [1, 2, 3]) t.equal(await proxied(`/api/items/${id}`), 'MISS');
    for (const id of [1, 2, 1]) t.equal(await proxied(`/api/items/${id}`), 'HIT');
    t.equal(await proxied('/api/search?q=a', { 'x-session-token': SESSION_TOKEN, 'x-user-id': 'alice' }), 'MISS');
    await page.waitForFunction(() => document.querySelector('[data-testid=overview-requests]')?.textContent === '7', undefined, { timeout: 8000 });
    t.pass('the request count reached 7 without a reload');
    t.equal(await page.getByTestId('overview-saved').textContent(), '3', 'three hits saved three upstream calls');
    t.match(await page.getByTestId('overview-hit-ratio').textContent(), /%/);
    await page.getByTestId('overview-chart').waitFor({ timeout: 8000 });
    await shot('overview');
  });

  await t.test('upstreams: rules with traffic per rule', async (t) => {
    await waitForAudit(t, api, 7);
    // Opened again, the overview takes the last hour's hit ratio from the audit trail.
    await page.reload();
    await page.waitForFunction(() => [...document.querySelectorAll('.stat-note')].some((n) => n.textContent === 'last hour (audit trail)'), undefined, { timeout: 8000 });
    const hour = await api<{ hitRatio: number }>('/admin/audit/report?window=1h');
    t.equal(await page.getByTestId('overview-hit-ratio').textContent(), `${(hour.hitRatio * 100).toFixed(1)} %`, 'the hit ratio is the audit report\'s for the last hour');
    await page.click('[data-testid=nav-upstreams]');
    const row = page.locator('tr[data-rule=item]');
    await row.waitFor();
    await page.waitForFunction(() => document.querySelector('tr[data-rule=item] td.num')?.textContent === '6');
    t.match(await row.textContent(), /50\.0 %/, 'item: 3 hits of 6');
    await shot('upstreams');
  });

  await t.test('browse an entry, see no secrets, purge it: the next request MISSes', async (t) => {
    await page.click('[data-testid=nav-cache]');
    await page.selectOption('[data-testid=cache-upstream]', 'api');
    await page.fill('[data-testid=cache-prefix]', '/items/');
    await page.click('[data-testid=cache-search] button[type=submit]');
    await page.locator('[data-testid=cache-entries] tbody tr').first().waitFor();
    t.equal(await page.locator('[data-testid=cache-entries] tbody tr').count(), 3);
    await page.click('tr[data-path="/items/1"]');
    const body = page.getByTestId('cache-body');
    await body.waitFor();
    const text = (await body.textContent()) ?? '';
    t.match(text, /Acme/);
    t.notMatch(text, /BODY-SECRET-TOKEN|hunter2/, 'credential-like body values are redacted');
    t.match(await page.getByTestId('cache-headers').textContent(), /x-upstream-secret-header/, 'header names are listed');
    t.notMatch(await page.content(), /never-shown/, 'header values never reach the page');
    await shot('cache-browser');
    await page.click('[data-testid=purge]');
    t.match(await page.getByTestId('confirm').textContent(), /\/items\/1/, 'the confirmation names the entry');
    await page.click('[data-testid=confirm-yes]');
    await page.getByTestId('purge-result').waitFor();
    t.equal(await proxied('/api/items/1'), 'MISS', 'purged: the next proxied request goes upstream');
    t.equal(await proxied('/api/items/3'), 'HIT', 'its neighbour is untouched');
  });

  await t.test('a tag invalidation from the form, then warm', async (t) => {
    await page.click('[data-testid=nav-invalidate]');
    await page.check('[data-testid=kind-tags]');
    await page.fill('[data-testid=field-tags]', 'item:2');
    await page.click('[data-testid=invalidate-review]');
    t.match(await page.getByTestId('invalidate-target').textContent(), /tagged "item:2"/);
    await page.getByTestId('invalidate-preview').waitFor();
    await shot('invalidate-confirm');
    await page.click('[data-testid=confirm-yes]');
    const result = page.getByTestId('invalidate-result');
    await result.waitFor();
    t.match(await result.textContent(), /tag:item:2/);
    t.equal(await proxied('/api/items/2'), 'MISS', 'the tagged entry is gone');
    t.equal(await proxied('/api/items/3'), 'HIT', 'another tag is not');

    await page.selectOption('[data-testid=warm-upstream]', 'api');
    await page.fill('[data-testid=warm-paths]', '/items/7\n/items/8');
    await page.click('[data-testid=warm-run]');
    await page.getByTestId('warm-result').waitFor();
    t.match(await page.getByTestId('warm-result').textContent(), /2 of 2 fetched/);
    t.equal(await proxied('/api/items/7'), 'HIT', 'warmed through the proxy read path');
    await shot('invalidate');
  });

  await t.test('activity charts match /admin/audit/report', async (t) => {
    // 7 + purge check 2 + tag check 2 + 2 warmed + 1 = 14 audited requests.
    const report = await waitForAudit(t, api, 14);
    await page.click('[data-testid=nav-activity]');
    await page.getByTestId('activity-report').waitFor();
    t.equal(await page.getByTestId('activity-total').textContent(), report.totalRequests.toLocaleString('en-US'));
    for (const [outcome, n] of Object.entries(report.byCacheOutcome)) {
      t.equal(await page.getByTestId(`activity-outcome-${outcome}`).textContent(), n.toLocaleString('en-US'), `${outcome}: ${n}`);
    }
    for (const action of report.byAction) {
      t.equal(await page.getByTestId(`activity-action-${action.action}`).textContent(), String(action.requests), `action ${action.action}`);
    }
    for (const user of report.byUser) {
      t.equal(await page.getByTestId(`activity-user-${user.user ?? '(anonymous)'}`).textContent(), String(user.requests), `user ${user.user}`);
    }
    t.equal(await page.locator('[data-testid=activity-by-day] canvas').count() > 0, true, 'the by-day chart drew');
    await page.fill('[data-testid=audit-user]', 'alice');
    await page.click('[data-testid=audit-search]');
    await page.getByTestId('audit-rows').waitFor();
    t.equal(await page.locator('[data-testid=audit-rows] tbody tr').count(), 1, 'filtered to alice');
    await shot('activity');
  });

  await t.test('sessions: look one up; its token is never shown', async (t) => {
    const rows = await api<{ items: Array<{ sessionId: string | null }> }>('/admin/audit?user=alice');
    const id = rows.items[0]?.sessionId;
    t.ok(id, 'alice has a session');
    await page.click('[data-testid=nav-sessions]');
    await page.fill('[data-testid=session-id]', id!);
    await page.click('[data-testid=session-form] button[type=submit]');
    await page.getByTestId('session-detail').waitFor();
    t.match(await page.getByTestId('session-detail').textContent(), /alice/);
    t.notMatch(await page.content(), new RegExp(SESSION_TOKEN), 'the session token is nowhere on the page');
    await shot('sessions');
  });

  await t.test('a token refused later sends every screen back to the login form', async (t) => {
    await page.evaluate(() => sessionStorage.setItem('sidecache.adminToken', 'stale-token'));
    await page.goto(`${adminUrl}/console/#/activity`);
    await page.reload();
    await page.getByTestId('error').waitFor();
    t.match(await page.getByTestId('error').textContent(), /refused/);
    t.equal(await page.getByTestId('activity-report').count(), 0, 'no data shown');
  });

  t.same(pageErrors, [], 'no script errors in the page');
});

interface Report {
  totalRequests: number;
  byCacheOutcome: Record<string, number>;
  byAction: Array<{ action: string; requests: number }>;
  byUser: Array<{ user: string | null; requests: number }>;
}

/** The audit writer flushes every 50 ms: wait until the report counts `expected` requests. */
async function waitForAudit(t: Test, api: <T>(path: string) => Promise<T>, expected: number): Promise<Report> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const report = await api<Report>('/admin/audit/report?window=1d');
    if (report.totalRequests >= expected || Date.now() > deadline) {
      t.equal(report.totalRequests, expected, `${expected} requests audited`);
      return report;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
