/**
 * `npm run demo`: sandbox upstreams (300 ms latency) + sidecache in front of them, a few scripted
 * requests that show MISS then HIT, a write through sidecache, and edits made in "Salesforce"
 * and "Jira" directly whose change events reach sidecache's hooks (the next read is a fresh
 * MISS); then curl commands to try next. Runs until Ctrl-C (DEMO_EXIT=1: exits after the tour).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox, type SandboxChange } from './sandbox.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PORT = process.env['PORT'] ?? '8080';
const BASE = `http://127.0.0.1:${PORT}`;
const HEALTH_WAIT_MS = 30_000;
const UPSTREAM_DELAY_MS = 300;
const AUTH = 'Bearer demo';
const ACCOUNT_ID = '001000000000001';
const ACCOUNT = `/salesforce/services/data/v60.0/sobjects/Account/${ACCOUNT_ID}`;
const ISSUE_KEY = 'DEMO-1';
const ISSUE = `/jira/rest/api/3/issue/${ISSUE_KEY}`;
/** The change feeds' secrets, shared by sidecache and the sandbox (which signs as Jira and a CDC relay would). */
const JIRA_WEBHOOK_SECRET = process.env['JIRA_WEBHOOK_SECRET'] || `demo-${randomBytes(8).toString('hex')}`;
const SALESFORCE_WEBHOOK_SECRET = process.env['SALESFORCE_WEBHOOK_SECRET'] || `demo-${randomBytes(8).toString('hex')}`;

/** A request through sidecache, or an edit made in the sandbox directly (outside sidecache). */
type Step =
  | { kind: 'request'; label: string; method: 'GET' | 'PATCH'; path: string; body?: unknown }
  | { kind: 'edit'; label: string; event: string; edit: (sandbox: Sandbox) => Promise<SandboxChange> };

/** Steps that failed (an error or 4xx/5xx, or an edit whose event sidecache did not take): DEMO_EXIT=1 exits 1. */
let failures = 0;

const get = (label: string, path: string): Step => ({ kind: 'request', label, method: 'GET', path });

/** The scripted tour: each read twice, a write through sidecache, then edits made outside it. */
const STEPS: readonly Step[] = [
  get('GET Salesforce Account', ACCOUNT),
  get('GET Salesforce Account (again)', ACCOUNT),
  get(`GET Jira issue ${ISSUE_KEY}`, ISSUE),
  get(`GET Jira issue ${ISSUE_KEY} (again)`, ISSUE),
  { kind: 'request', label: 'PATCH Account {"Name":"Renamed"}', method: 'PATCH', path: ACCOUNT, body: { Name: 'Renamed' } },
  get('GET Salesforce Account (after PATCH)', ACCOUNT),
  get('GET Salesforce Account (again)', ACCOUNT),
  {
    kind: 'edit',
    label: 'Someone renames the Account in Salesforce itself',
    event: 'change event',
    edit: (sandbox) => sandbox.changeRecord('Account', ACCOUNT_ID, { Name: 'Renamed in Salesforce' }),
  },
  get('GET Salesforce Account (after the edit)', ACCOUNT),
  {
    kind: 'edit',
    label: `Someone edits ${ISSUE_KEY}'s summary in Jira itself`,
    event: 'webhook',
    edit: (sandbox) => sandbox.changeIssue(ISSUE_KEY, 'Edited in Jira'),
  },
  get(`GET Jira issue ${ISSUE_KEY} (after the edit)`, ISSUE),
];

/** Left-aligned plain-text table with a header rule; a row of one cell spans the table. */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => (cells.length === 1 ? cells[0]! : cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The field a reader watches change after the write: a record's Name or an issue's summary. */
function shown(text: string): string {
  try {
    const body = JSON.parse(text) as { Name?: unknown; fields?: { summary?: unknown } };
    const value = body.Name ?? body.fields?.summary;
    return typeof value === 'string' ? JSON.stringify(value) : '';
  } catch {
    return '';
  }
}

async function healthy(): Promise<boolean> {
  try {
    const res = await fetch(`${BASE}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** What sidecache answered a change event: `webhook → POST /hooks/jira: 200 in 12 ms, dropped tag:jira:issue:demo-1, …`. */
function describeDelivery(change: SandboxChange, event: string): string {
  const d = change.delivery;
  if (d === null) return `no ${event} sent (the sandbox has no hook secret)`;
  const where = `${event} → POST ${new URL(d.url).pathname}`;
  if (d.status === 0) return `${where} failed: ${d.body}`;
  let outcome = d.body.slice(0, 120);
  try {
    const body = JSON.parse(d.body) as { invalidated?: { epochs?: unknown[] }; duplicate?: boolean; ignored?: boolean };
    if (body.invalidated !== undefined) outcome = `dropped ${(body.invalidated.epochs ?? []).join(', ')}`;
    else if (body.duplicate === true) outcome = 'a duplicate, nothing dropped';
    else if (body.ignored === true) outcome = 'ignored';
  } catch {
    // not JSON: show the start of it
  }
  return `${where}: ${d.status} in ${d.ms.toFixed(0)} ms, ${outcome}`;
}

/** Runs one step; for a request, `upstream` tells whether the sandbox saw a request for it. */
async function runStep(step: Step, sandbox: Sandbox): Promise<string[]> {
  if (step.kind === 'edit') {
    const change = await step.edit(sandbox);
    const status = change.delivery?.status ?? 0;
    if (status < 200 || status >= 300) failures += 1;
    return [`~ ${step.label}\n    its ${describeDelivery(change, step.event)}`];
  }
  const before = sandbox.counts();
  const started = performance.now();
  try {
    const res = await fetch(`${BASE}${step.path}`, {
      method: step.method,
      headers: { authorization: AUTH, ...(step.body ? { 'content-type': 'application/json' } : {}) },
      ...(step.body ? { body: JSON.stringify(step.body) } : {}),
    });
    const text = await res.text();
    const ms = (performance.now() - started).toFixed(0);
    const after = sandbox.counts();
    const calls = after.salesforce + after.jira - before.salesforce - before.jira;
    if (res.status >= 400) failures += 1;
    const h = (name: string) => res.headers.get(name) ?? '-';
    return [step.label, String(res.status), h('x-cache'), h('x-cache-tier'), h('age'), `${ms} ms`, calls > 0 ? 'yes' : 'no', shown(text)];
  } catch (err) {
    failures += 1;
    return [step.label, 'error', err instanceof Error ? err.message : String(err)];
  }
}

function guide(sandbox: Sandbox): string {
  const url = `localhost:${PORT}`;
  const auth = `-H 'Authorization: ${AUTH}'`;
  return `
Try it yourself (every sandbox answer takes ${UPSTREAM_DELAY_MS} ms; a cache hit does not):

  # run twice: x-cache MISS then HIT; look at x-cache-tier, age and cache-status too
  curl -si ${url}${ACCOUNT} ${auth}

  # a Jira issue, and a JQL search
  curl -si ${url}${ISSUE} ${auth}
  curl -si -G ${url}/jira/rest/api/3/search/jql --data-urlencode 'jql=project = DEMO' ${auth}

  # a write goes straight through; then read the record again
  curl -si -X PATCH ${url}${ACCOUNT} ${auth} -H 'Content-Type: application/json' -d '{"Name":"Acme"}'
  curl -si ${url}${ACCOUNT} ${auth}

  # a SOQL query
  curl -si -G ${url}/salesforce/services/data/v60.0/query --data-urlencode 'q=SELECT Id, Name FROM Account LIMIT 3' ${auth}

  # an edit made in Salesforce or Jira directly (the sandbox sends sidecache the change event
  # or the webhook, and prints what it answered); then read the record or issue again
  curl -s -X PATCH ${sandbox.salesforceUrl}/__sandbox/sobjects/Account/${ACCOUNT_ID} -d '{"Name":"Acme"}'
  curl -s -X PUT ${sandbox.jiraUrl}/__sandbox/issue/${ISSUE_KEY} -d '{"fields":{"summary":"Edited again"}}'

sidecache runs on ${url} (PORT=${PORT}). Press Ctrl-C to stop.`;
}

async function main(): Promise<void> {
  if (await healthy()) {
    console.error(`Something already answers ${BASE}/healthz; stop it or pick another port: PORT=8081 npm run demo`);
    process.exit(1);
  }
  const sandbox = await startSandbox({
    salesforceDelayMs: UPSTREAM_DELAY_MS,
    jiraDelayMs: UPSTREAM_DELAY_MS,
    hooks: { sidecacheUrl: BASE, jiraSecret: JIRA_WEBHOOK_SECRET, salesforceSecret: SALESFORCE_WEBHOOK_SECRET },
  });
  console.log(`sandbox upstreams: Salesforce ${sandbox.salesforceUrl}, Jira ${sandbox.jiraUrl}`);

  // tsx rather than dist/: the demo works without a build.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      PORT,
      SALESFORCE_URL: sandbox.salesforceUrl,
      JIRA_URL: sandbox.jiraUrl,
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
      // Its own embedded database and admin port, so the demo runs beside `npm start`.
      DATA_DIR: process.env['DATA_DIR'] ?? join(ROOT, 'data', 'demo'),
      ADMIN_PORT: process.env['ADMIN_PORT'] ?? '0',
      // The change feeds (POST /hooks/jira, /hooks/salesforce/cdc), for the sandbox's edits.
      JIRA_WEBHOOK_SECRET,
      SALESFORCE_WEBHOOK_SECRET,
    },
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stopping = false;

  const shutdown = async (signal: NodeJS.Signals, code: number): Promise<never> => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const killed = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
      if (killed) child.kill('SIGKILL');
    }
    await sandbox.close();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  void exited.then(async ([code, signal]) => {
    if (stopping) return;
    console.error(`sidecache exited (${signal ?? `code ${code}`})`);
    await sandbox.close();
    process.exit(code || 1);
  });

  const deadline = Date.now() + HEALTH_WAIT_MS;
  while (!(await healthy())) {
    if (Date.now() > deadline) {
      console.error(`sidecache did not answer ${BASE}/healthz within ${HEALTH_WAIT_MS / 1000} s`);
      return shutdown('SIGTERM', 1);
    }
    await sleep(250);
  }

  const rows: string[][] = [];
  for (const step of STEPS) rows.push(await runStep(step, sandbox));
  console.log(`\n${formatTable(['request', 'status', 'x-cache', 'tier', 'age', 'time', 'upstream', 'name/summary'], rows)}`);
  if (process.env['DEMO_EXIT'] === '1') return shutdown('SIGTERM', failures > 0 ? 1 : 0);
  console.log(guide(sandbox));
}

await main();
