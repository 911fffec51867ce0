/** Two sidecache instances, fake Salesforce and Jira upstreams, and signed deliveries for the change-feed tests (not a test file itself). */
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { loadConfig } from '../../../src/config/load.js';
import type { HooksConfig } from '../../../src/config/types.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { signBody } from '../../../src/hooks/signature.js';
import { startProxy, type RunningProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { redisOrSkip } from '../../helpers/redis.js';

export const SECRET = 'hook-test-secret-0123456789';
export const ORG = '00D000000000001AAA';
export const V = '/services/data/v60.0';
export const auth = { authorization: 'Bearer user' };

/** Versions of the records the fakes serve; `change` is an edit made in Salesforce or Jira directly. */
export class Records {
  readonly #versions = new Map<string, number>();
  version(key: string): number {
    return this.#versions.get(key) ?? 1;
  }
  change(key: string): void {
    this.#versions.set(key, this.version(key) + 1);
  }
  /** Sum of the versions under a prefix: what a query or search over them returns. */
  stamp(prefix: string): number {
    let total = 0;
    for (const [key, version] of this.#versions) if (key.startsWith(prefix)) total += version - 1;
    return total;
  }
}

/** Salesforce: records by type and id (`Account/001…`), and SOQL queries stamped with their FROM type's versions. */
export async function fakeSalesforce(records: Records): Promise<FakeUpstream> {
  return startFakeUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    res.setHeader('content-type', 'application/json');
    const record = /^\/services\/data\/v60\.0\/sobjects\/(\w+)\/(\w+)$/.exec(url.pathname);
    if (record) return void res.end(JSON.stringify({ Id: record[2], version: records.version(`${record[1]}/${record[2]}`) }));
    if (url.pathname === `${V}/query`) {
      const from = /\bFROM\s+(\w+)/i.exec(url.searchParams.get('q') ?? '')?.[1] ?? '';
      return void res.end(JSON.stringify({ q: url.searchParams.get('q'), stamp: records.stamp(`${from}/`) }));
    }
    res.statusCode = 404;
    res.end('[]');
  });
}

/** Jira issues, readable by key and by id. */
export const ISSUES: Readonly<Record<string, string>> = { 'PROJ-1': '10001', 'PROJ-2': '10002' };

/** Jira: issues by key or id, JQL search stamped with every issue's version, and field metadata. */
export async function fakeJira(records: Records): Promise<FakeUpstream> {
  const keyOf = (ref: string) => Object.keys(ISSUES).find((key) => key === ref || ISSUES[key] === ref);
  return startFakeUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    res.setHeader('content-type', 'application/json');
    const issue = /^\/rest\/api\/3\/issue\/([\w-]+)$/.exec(url.pathname);
    const key = issue ? keyOf(issue[1]!) : undefined;
    if (key !== undefined) return void res.end(JSON.stringify({ key, id: ISSUES[key], version: records.version(`issue/${key}`) }));
    if (url.pathname === '/rest/api/3/search/jql') return void res.end(JSON.stringify({ stamp: records.stamp('issue/') }));
    if (url.pathname === '/rest/api/3/field') return void res.end(JSON.stringify([{ id: 'summary', stamp: records.stamp('') }]));
    res.statusCode = 404;
    res.end('{}');
  });
}

const shipped = loadConfig({
  path: fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url)),
  env: { SALESFORCE_URL: 'https://sf.example.com', JIRA_URL: 'https://jira.example.com' },
}).config;

/** An upstream as proxy.config.yaml ships it (name, prefix, preset rules), pointed at a fake. */
export function shippedUpstream(name: 'salesforce' | 'jira', target: string) {
  const upstream = shipped.upstreams.find((u) => u.name === name)!;
  return { name, prefix: upstream.prefix, target, rules: [...upstream.rules] };
}

export interface Pair {
  readonly a: RunningProxy;
  readonly b: RunningProxy;
  /** The database both instances audit to. */
  readonly db: SqlDatabase;
}

/**
 * Two instances sharing Redis (tier and bus) and Postgres (audit, `cache_epochs`), both with
 * the given feeds on; null when a service is missing and the test was skipped.
 */
export async function startPair(t: Test, upstreams: ReturnType<typeof shippedUpstream>[], hooks: Partial<HooksConfig>): Promise<Pair | null> {
  const redis = await redisOrSkip(t);
  const postgres = await postgresOrSkip(t);
  if (redis === null || postgres === null) return null;
  const db = await postgres.open(t, { migrate: false });
  const config = () =>
    testConfig(upstreams, {
      cache: { namespace: redis.namespace, redis: { url: redis.url, readTimeoutMs: 200, compressAboveBytes: 8192, writeQueueSize: 1000 } },
      database: { url: db.url! },
      audit: { enabled: true, flushIntervalMs: 20, spoolDir: t.testdir({}) },
      hooks,
    });
  const a = await startProxy(t, config());
  const b = await startProxy(t, config());
  return { a, b, db };
}

export interface Read {
  readonly cache: string;
  readonly body: Record<string, unknown>;
}

export async function read(proxy: RunningProxy, path: string): Promise<Read> {
  const response = await proxy.fetch(path, { headers: auth });
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.body.toString()}`);
  return { cache: String(response.headers['x-cache']), body: response.json() as Record<string, unknown> };
}

/** Reads every path on every instance until each answers a HIT (from its memory after the first read). */
export async function warm(proxies: readonly RunningProxy[], paths: readonly string[]): Promise<void> {
  for (const proxy of proxies) {
    for (const path of paths) {
      await read(proxy, path);
      const again = await read(proxy, path);
      if (again.cache !== 'HIT') throw new Error(`GET ${path} is not cached (${again.cache})`);
    }
  }
}

/**
 * Milliseconds from `sentAt` (when the delivery was answered) until every instance has dropped its old entry for `path`: the
 * time the first read answered with what `isNew` accepts was sent (each instance polled every
 * 2 ms, at the same time, for at most 2 s); -1 when one never does.
 */
export async function freshAfter(proxies: readonly RunningProxy[], path: string, isNew: (body: Record<string, unknown>) => boolean, sentAt: number): Promise<number> {
  const deadline = sentAt + 2_000;
  const each = await Promise.all(
    proxies.map(async (proxy) => {
      for (;;) {
        // When the read that saw the new data was sent: the old entry was gone by then.
        const askedAt = Date.now();
        if (isNew((await read(proxy, path)).body)) return askedAt - sentAt;
        if (Date.now() > deadline) return -1;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }),
  );
  return each.includes(-1) ? -1 : Math.max(...each);
}

/** The caches each instance answers `paths` from, e.g. ['HIT', 'HIT'] per path. */
export async function outcomes(proxies: readonly RunningProxy[], paths: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const path of paths) out[path] = await Promise.all(proxies.map(async (proxy) => (await read(proxy, path)).cache));
  return out;
}

/** Headers of a delivery signed with `secret` in `header`. */
export function signed(body: string, header = 'x-sidecache-signature', secret = SECRET, contentType = 'application/json'): Record<string, string> {
  return { 'content-type': contentType, [header]: signBody(secret, body) };
}

/** `sidecache_hook_deliveries_total` of one instance, by `source/outcome`. */
export async function deliveries(proxy: RunningProxy): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const line of (await proxy.metrics.scrape()).split('\n')) {
    const match = /^sidecache_hook_deliveries_total\{source="([^"]+)",outcome="([^"]+)"\} (\d+)/.exec(line);
    if (match) counts[`${match[1]}/${match[2]}`] = Number(match[3]);
  }
  return counts;
}

export interface AuditRow {
  request_id: string;
  action: string;
  path: string;
  query: string | null;
  status: number;
  resource_type: string | null;
  resource_id: string | null;
  error_code: string | null;
  as_text: string;
}

/** The hook rows in the shared audit table, once there are `count` of them (waits up to 5 s). */
export async function hookRows(db: SqlDatabase, count: number): Promise<AuditRow[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { rows } = await db.query<AuditRow>(`SELECT a.*, row_to_json(a)::text AS as_text FROM audit_logs a WHERE action LIKE 'hook.%' ORDER BY ts, request_id`);
    if (rows.length >= count || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
