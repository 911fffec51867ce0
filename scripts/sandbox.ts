/**
 * Bundled sandbox upstreams: a Salesforce-like and a Jira-like API (sandbox-apis.ts) on plain
 * node:http servers, used by `npm run demo` and the benchmark. Bodies are deterministic; state
 * lives in memory.
 *
 * Each fake also takes edits made "in Salesforce or Jira directly", outside sidecache, on a
 * control route of its own (`PATCH /__sandbox/sobjects/:type/:id`, `PUT /__sandbox/issue/:key`).
 * An edit changes what the fake serves and, when `hooks` is set, sends sidecache the event the
 * real service would (sandbox-edits.ts): a signed Jira webhook to `/hooks/jira`, a Change Data
 * Capture event (as a relay posts it) to `/hooks/salesforce/cdc`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { etagOf, jiraHandler, salesforceHandler, type ControlHandler, type Fields, type JiraStore, type SalesforceStore, type SandboxHandler } from './sandbox-apis.js';
import { CONTROL_PREFIX, editors, type SandboxChange, type SandboxHooks } from './sandbox-edits.js';

export { etagOf, jiraHandler, jiraIssue, salesforceHandler, sfRecord, type Fields, type SandboxHandler, type SandboxRequest, type SandboxResponse } from './sandbox-apis.js';
export type { HookDelivery, SandboxChange, SandboxHooks } from './sandbox-edits.js';

export interface SandboxOptions {
  /** Artificial latency before every Salesforce answer (default 300 ms, for demo realism). */
  salesforceDelayMs?: number;
  /** Artificial latency before every Jira answer (default 300 ms). */
  jiraDelayMs?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Where edits made in the sandbox are announced; absent: edits change the data only. */
  hooks?: SandboxHooks;
}

export interface Sandbox {
  salesforceUrl: string;
  jiraUrl: string;
  /** API requests each upstream has received so far, whatever their outcome (control routes not counted). */
  counts(): { salesforce: number; jira: number };
  /** Edits a record in "Salesforce" itself (as its UI would) and relays the change event. */
  changeRecord(type: string, id: string, fields: Fields): Promise<SandboxChange>;
  /** Edits an issue's summary in "Jira" itself and sends the webhook. */
  changeIssue(key: string, summary: string): Promise<SandboxChange>;
  /** Where edits are announced from now on (replaces `options.hooks`; undefined: nowhere), for a sidecache started after the sandbox. */
  announceTo(hooks: SandboxHooks | undefined): void;
  close(): Promise<void>;
}

const SF_CACHE_CONTROL = 'no-cache,must-revalidate,max-age=0,no-store,private';
const JIRA_CACHE_CONTROL = 'no-cache, no-store, no-transform';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Wraps a handler in an HTTP server that counts, delays, serialises and tags responses; `/__sandbox/…` goes to `control`. */
async function serve(handler: SandboxHandler, delayMs: number, host: string, cacheControl: string, control: ControlHandler) {
  let count = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://sandbox');
      const body = await readBody(req);
      const input = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body };
      if (url.pathname.startsWith(CONTROL_PREFIX)) {
        const out = await control({ ...input, path: url.pathname.slice(CONTROL_PREFIX.length - 1) });
        const text = JSON.stringify(out.body ?? null);
        return res.writeHead(out.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
      }
      count++;
      const out = handler(input);
      if (delayMs > 0) await sleep(delayMs);
      res.setHeader('Cache-Control', cacheControl);
      if (out.body === undefined) return res.writeHead(out.status).end();
      const text = JSON.stringify(out.body);
      const etag = etagOf(text);
      res.setHeader('ETag', etag);
      // A conditional GET that still matches gets 304 without the body (RFC 9110 §13.1.2).
      if (out.status === 200 && req.method === 'GET' && req.headers['if-none-match'] === etag) return res.writeHead(304).end();
      res.writeHead(out.status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, count: () => count, close };
}

/** Starts both sandbox upstreams on ephemeral ports. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const sfStore: SalesforceStore = new Map();
  const jiraStore: JiraStore = new Map();
  const edit = editors(sfStore, jiraStore, options.hooks);
  const sf = await serve(salesforceHandler(sfStore), options.salesforceDelayMs ?? 300, host, SF_CACHE_CONTROL, edit.salesforceControl);
  const jira = await serve(jiraHandler(jiraStore), options.jiraDelayMs ?? 300, host, JIRA_CACHE_CONTROL, edit.jiraControl).catch(async (err: unknown) => {
    await sf.close();
    throw err;
  });
  return {
    salesforceUrl: sf.url,
    jiraUrl: jira.url,
    counts: () => ({ salesforce: sf.count(), jira: jira.count() }),
    changeRecord: edit.changeRecord,
    changeIssue: edit.changeIssue,
    announceTo: edit.announceTo,
    close: async () => {
      await Promise.all([sf.close(), jira.close()]);
    },
  };
}

// `npm run sandbox` runs the sandbox alone, e.g. to point a hand-started sidecache at it. With
// JIRA_WEBHOOK_SECRET / SALESFORCE_WEBHOOK_SECRET set (the same as sidecache's), edits made on the
// control routes are announced to SIDECACHE_URL (default http://127.0.0.1:8080).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const delay = Number(process.env['SANDBOX_DELAY_MS'] ?? 300);
  const env = (name: string) => (process.env[name] === undefined || process.env[name] === '' ? undefined : process.env[name]);
  const hooks: SandboxHooks = {
    sidecacheUrl: env('SIDECACHE_URL') ?? 'http://127.0.0.1:8080',
    ...(env('JIRA_WEBHOOK_SECRET') === undefined ? {} : { jiraSecret: env('JIRA_WEBHOOK_SECRET') }),
    ...(env('SALESFORCE_WEBHOOK_SECRET') === undefined ? {} : { salesforceSecret: env('SALESFORCE_WEBHOOK_SECRET') }),
  };
  const sandbox = await startSandbox({ salesforceDelayMs: delay, jiraDelayMs: delay, hooks });
  console.log(`SALESFORCE_URL=${sandbox.salesforceUrl}\nJIRA_URL=${sandbox.jiraUrl}`);
  const announced = (secret: string | undefined, what: string) => (secret === undefined ? `(no ${what} sent: set ${what === 'webhook' ? 'JIRA_WEBHOOK_SECRET' : 'SALESFORCE_WEBHOOK_SECRET'})` : `(${what} to ${hooks.sidecacheUrl})`);
  console.log(`
Edit a record in "Salesforce" itself ${announced(hooks.salesforceSecret, 'change event')}:
  curl -s -X PATCH ${sandbox.salesforceUrl}${CONTROL_PREFIX}sobjects/Account/001000000000001 -d '{"Name":"Edited in Salesforce"}'
Edit an issue in "Jira" itself ${announced(hooks.jiraSecret, 'webhook')}:
  curl -s -X PUT ${sandbox.jiraUrl}${CONTROL_PREFIX}issue/DEMO-1 -d '{"fields":{"summary":"Edited in Jira"}}'`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
