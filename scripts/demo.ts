/**
 * `npm run demo`: sandbox upstreams (300 ms latency) + sidecache in front of them, a few scripted
 * requests that show MISS then HIT, and curl commands to try next. Runs until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from './sandbox.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PORT = process.env['PORT'] ?? '8080';
const BASE = `http://127.0.0.1:${PORT}`;
const HEALTH_WAIT_MS = 30_000;
const UPSTREAM_DELAY_MS = 300;
const AUTH = 'Bearer demo';
const ACCOUNT = '/salesforce/services/data/v60.0/sobjects/Account/001000000000001';
const ISSUE = '/jira/rest/api/3/issue/DEMO-1';

interface Step {
  label: string;
  method: 'GET' | 'PATCH';
  path: string;
  body?: unknown;
}

/** The scripted tour: each read twice, then a write and the read after it. */
const STEPS: readonly Step[] = [
  { label: 'GET Salesforce Account', method: 'GET', path: ACCOUNT },
  { label: 'GET Salesforce Account (again)', method: 'GET', path: ACCOUNT },
  { label: 'GET Jira issue DEMO-1', method: 'GET', path: ISSUE },
  { label: 'GET Jira issue DEMO-1 (again)', method: 'GET', path: ISSUE },
  { label: 'PATCH Account {"Name":"Renamed"}', method: 'PATCH', path: ACCOUNT, body: { Name: 'Renamed' } },
  { label: 'GET Salesforce Account (after PATCH)', method: 'GET', path: ACCOUNT },
];

/** Left-aligned plain-text table with a header rule. */
function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
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

/** Runs one step through sidecache; `upstream` tells whether the sandbox saw a request for it. */
async function runStep(step: Step, sandbox: Sandbox): Promise<string[]> {
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
    const h = (name: string) => res.headers.get(name) ?? '-';
    return [step.label, String(res.status), h('x-cache'), h('x-cache-tier'), h('age'), `${ms} ms`, calls > 0 ? 'yes' : 'no', shown(text)];
  } catch (err) {
    return [step.label, 'error', err instanceof Error ? err.message : String(err)];
  }
}

function guide(): string {
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

sidecache runs on ${url} (PORT=${PORT}). Press Ctrl-C to stop.`;
}

async function main(): Promise<void> {
  if (await healthy()) {
    console.error(`Something already answers ${BASE}/healthz; stop it or pick another port: PORT=8081 npm run demo`);
    process.exit(1);
  }
  const sandbox = await startSandbox({ salesforceDelayMs: UPSTREAM_DELAY_MS, jiraDelayMs: UPSTREAM_DELAY_MS });
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
  console.log(guide());
}

await main();
