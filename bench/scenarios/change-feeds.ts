import { createHmac, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'undici';
import type { DeliveryReport } from '../clients/hook-deliveries.js';
import { spawnNode, stopChild, type Child } from '../lib/children.js';
import { readCpuSeconds } from '../lib/proc.js';
import { createBenchSchema, randomSuffix, REDIS_URL, redisNamespace, tempDir, type BenchSchema } from '../lib/services.js';
import { ROOT, startSidecache, type RunningSidecache, type SidecacheOptions } from '../lib/servers.js';
import { percentile } from '../lib/stats.js';
import { int, ms, type Row } from '../lib/table.js';

/**
 * Scenario 12: change feeds (issue 13). Two sidecache instances share Redis (tier and bus) and
 * Postgres (tier, `cache_epochs`, audit), in front of the demo's sandbox Salesforce and Jira
 * (scripts/sandbox.ts, no added latency, on the load core) through the shipped presets.
 *
 * (a) delivery to invalidated: per delivery a record cached on both instances is edited at the
 * origin directly, then a signed delivery (a Jira webhook, or a CDC relay event) is POSTed to
 * instance A. From the moment it is sent, both instances are read back to back (one request in
 * flight each, memory hits while stale) until each answers the new value; the figure is when
 * that first fresh read was sent, accurate to about the gap between two reads (reported).
 * Counting from the delivery's answer would hide the propagation: A applies and announces the
 * change before it answers. (b) throughput: signed Jira deliveries with distinct identifiers, from a load child
 * pinned to the load core, against one instance alone on the server core, audit on.
 */

const S = '12 change feeds';

// (a)
const DELIVERIES = 200;
const FRESH_BUDGET_MS = 2_000;
const PART_A_BUDGET_MS = 150_000;
const TARGET_MS = 1_000;
// (b)
const LOAD_CONNECTIONS = 32;
const LOAD_WARMUP_MS = 2_000;
const LOAD_MS = 10_000;
const LOAD_MAX_DELIVERIES = 100_000;
const LOAD_ISSUES = 1_000;
const LOAD_TIMEOUT_MS = 10_000;
const ROWS_BUDGET_MS = 30_000;

const AUTH = { authorization: 'Bearer bench-feeds' } as const;
const V = '/services/data/v60.0';
const TIMEOUTS = { headersTimeout: 10_000, bodyTimeout: 10_000 } as const;

export interface Parts {
  readonly a: boolean;
  readonly b: boolean;
}

export interface FeedLatency {
  readonly deliveries: number;
  /** Deliveries skipped because an instance did not serve the old entry as a hit beforehand. */
  readonly skipped: number;
  readonly non2xx: number;
  readonly notPropagated: number;
  /** ms from sending the delivery: its answer, and the first fresh read sent to A and to B. */
  readonly answered: { p50: number; p99: number; max: number };
  readonly a: { p50: number; p99: number; max: number; never: number };
  readonly b: { p50: number; p99: number; max: number; never: number };
  /** Deliveries where B already served the new value before A's answer arrived. */
  readonly bBeforeAnswer: number;
  /** How B answered its first fresh read (MISS, or a hit from a tier A had refilled). */
  readonly bFirstFresh: Record<string, number>;
  /** Median gap between the last stale read and the first fresh one (the measuring resolution). */
  readonly resolutionMs: number;
}

export interface FeedThroughput {
  readonly load: DeliveryReport;
  readonly auditRows: number;
  readonly answeredTotal: number;
  readonly cpuUsPerDelivery: number;
}

export interface ChangeFeedsResult {
  jira?: FeedLatency;
  cdc?: FeedLatency;
  throughput?: FeedThroughput;
}

interface Feed {
  readonly name: 'jira' | 'cdc';
  readonly label: string;
  /** The read through sidecache of record i. */
  path(i: number): string;
  /** Edits record i at the origin (not through sidecache) and returns the value reads must show after. */
  change(i: number): Promise<string>;
  /** The signed delivery announcing that edit. */
  delivery(i: number, value: string): { path: string; headers: Record<string, string>; body: string };
  /** The field a reader watches. */
  shown(body: Record<string, unknown>): unknown;
}

const hmac = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** The two feeds; `origin` edits the sandbox directly (not through sidecache). */
function feeds(origin: { jira: Pool; salesforce: Pool }, secrets: { jira: string; salesforce: string }, run: string): Feed[] {
  const accountId = (i: number) => `001${String(500_000 + i).padStart(12, '0')}`;
  return [
    {
      name: 'jira',
      label: 'Jira webhook',
      path: (i) => `/jira/rest/api/3/issue/FEED-${i + 1}`,
      async change(i) {
        const summary = `edited in Jira ${run}-${i}`;
        await expectStatus(origin.jira.request({ method: 'PUT', path: `/rest/api/3/issue/FEED-${i + 1}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fields: { summary } }), ...TIMEOUTS }), 204);
        return summary;
      },
      delivery(i, summary) {
        const body = JSON.stringify({
          timestamp: Date.now(),
          webhookEvent: 'jira:issue_updated',
          issue_event_type_name: 'issue_generic',
          issue: { id: String(10_000 + i + 1), key: `FEED-${i + 1}`, fields: { summary } },
          changelog: { id: String(i + 1), items: [{ field: 'summary', fieldtype: 'jira', toString: summary }] },
        });
        return {
          path: '/hooks/jira',
          headers: { 'content-type': 'application/json', 'x-hub-signature': hmac(secrets.jira, body), 'x-atlassian-webhook-identifier': `${run}-jira-${i}` },
          body,
        };
      },
      shown: (body) => (body['fields'] as Record<string, unknown> | undefined)?.['summary'],
    },
    {
      name: 'cdc',
      label: 'CDC relay event',
      path: (i) => `/salesforce${V}/sobjects/Account/${accountId(i)}`,
      async change(i) {
        const name = `edited in Salesforce ${run}-${i}`;
        await expectStatus(origin.salesforce.request({ method: 'PATCH', path: `${V}/sobjects/Account/${accountId(i)}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Name: name }), ...TIMEOUTS }), 204);
        return name;
      },
      delivery(i, name) {
        const body = JSON.stringify({
          data: {
            schema: 'bench',
            payload: {
              ChangeEventHeader: {
                entityName: 'Account',
                recordIds: [accountId(i)],
                changeType: 'UPDATE',
                changedFields: ['Name', 'LastModifiedDate'],
                commitTimestamp: Date.now(),
                transactionKey: randomUUID(),
                sequenceNumber: 1,
                commitUser: '005000000000001AAA',
              },
              Name: name,
            },
            event: { replayId: i + 1 },
          },
          channel: '/data/AccountChangeEvent',
        });
        return { path: '/hooks/salesforce/cdc', headers: { 'content-type': 'application/json', 'x-sidecache-signature': hmac(secrets.salesforce, body) }, body };
      },
      shown: (body) => body['Name'],
    },
  ];
}

async function expectStatus(pending: ReturnType<Pool['request']>, status: number): Promise<void> {
  const res = await pending;
  const text = await res.body.text();
  if (res.statusCode !== status) throw new Error(`12: origin answered ${res.statusCode} (expected ${status}): ${text.slice(0, 200)}`);
}

interface Read {
  readonly status: number;
  readonly label: string;
  readonly value: unknown;
}

async function read(pool: Pool, path: string, feed: Feed): Promise<Read> {
  const res = await pool.request({ method: 'GET', path, headers: AUTH, ...TIMEOUTS });
  const text = await res.body.text();
  const x = res.headers['x-cache'];
  const tier = res.headers['x-cache-tier'];
  const label = x === 'HIT' ? `HIT ${typeof tier === 'string' ? tier : '?'}` : String(x ?? 'none');
  let value: unknown;
  if (res.statusCode === 200) value = feed.shown(JSON.parse(text) as Record<string, unknown>);
  return { status: res.statusCode, label, value };
}

/** Reads `path` until it is a hit (at most three reads); the value it serves then. */
async function cachedValue(pool: Pool, path: string, feed: Feed): Promise<unknown> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await read(pool, path, feed);
    if (r.status === 200 && r.label.startsWith('HIT')) return r.value;
  }
  return undefined;
}

interface Fresh {
  readonly ms: number;
  readonly label: string;
  readonly gapMs: number;
}

/** Reads back to back from `t0` until the value is `value`; when that read was sent (ms after t0), or null after the budget. */
async function firstFresh(pool: Pool, path: string, feed: Feed, value: string, t0: number): Promise<Fresh | null> {
  let lastStale = t0;
  for (;;) {
    const sent = performance.now();
    const r = await read(pool, path, feed);
    if (r.status === 200 && r.value === value) return { ms: sent - t0, label: r.label, gapMs: sent - lastStale };
    lastStale = sent;
    if (performance.now() - t0 > FRESH_BUDGET_MS) return null;
  }
}

const spread = (samples: readonly number[]) => ({ p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.reduce((a, b) => Math.max(a, b), 0) });

async function measureFeed(feed: Feed, a: RunningSidecache, b: RunningSidecache, deadline: number): Promise<FeedLatency> {
  const readA = new Pool(a.url, { connections: 1 });
  const readB = new Pool(b.url, { connections: 1 });
  const deliver = new Pool(a.url, { connections: 1 });
  const answered: number[] = [];
  const freshA: number[] = [];
  const freshB: number[] = [];
  const gaps: number[] = [];
  const bFirstFresh: Record<string, number> = {};
  let skipped = 0;
  let non2xx = 0;
  let notPropagated = 0;
  let neverA = 0;
  let neverB = 0;
  let bBeforeAnswer = 0;
  try {
    for (let i = 0; i < DELIVERIES && Date.now() < deadline; i++) {
      const path = feed.path(i);
      // Cached on both (B's first read may come from the shared tiers A filled; the next is from its memory).
      const before = await cachedValue(readA, path, feed);
      if (before === undefined || (await cachedValue(readB, path, feed)) !== before) {
        skipped += 1;
        continue;
      }
      const value = await feed.change(i);
      const stale = await Promise.all([read(readA, path, feed), read(readB, path, feed)]);
      if (stale.some((r) => r.value !== before || !r.label.startsWith('HIT'))) {
        skipped += 1;
        continue;
      }
      const delivery = feed.delivery(i, value);
      const t0 = performance.now();
      const post = (async () => {
        const res = await deliver.request({ method: 'POST', path: delivery.path, headers: delivery.headers, body: delivery.body, ...TIMEOUTS });
        const text = await res.body.text();
        return { status: res.statusCode, text, ms: performance.now() - t0 };
      })();
      const [answer, onA, onB] = await Promise.all([post, firstFresh(readA, path, feed, value, t0), firstFresh(readB, path, feed, value, t0)]);
      if (answer.status < 200 || answer.status >= 300) non2xx += 1;
      else if (!answer.text.includes('"propagated":true')) notPropagated += 1;
      answered.push(answer.ms);
      if (onA === null) neverA += 1;
      else {
        freshA.push(onA.ms);
        gaps.push(onA.gapMs);
      }
      if (onB === null) neverB += 1;
      else {
        freshB.push(onB.ms);
        gaps.push(onB.gapMs);
        bFirstFresh[onB.label] = (bFirstFresh[onB.label] ?? 0) + 1;
        if (onB.ms < answer.ms) bBeforeAnswer += 1;
      }
    }
  } finally {
    await Promise.all([readA.close(), readB.close(), deliver.close()]);
  }
  return {
    deliveries: answered.length,
    skipped,
    non2xx,
    notPropagated,
    answered: spread(answered),
    a: { ...spread(freshA), never: neverA },
    b: { ...spread(freshB), never: neverB },
    bBeforeAnswer,
    bFirstFresh,
    resolutionMs: percentile(gaps, 50),
  };
}

/** Polls `count` until it reaches `atLeast` or the budget runs out. */
async function rowsReaching(count: () => Promise<number>, atLeast: number, budgetMs: number): Promise<number> {
  const deadline = Date.now() + budgetMs;
  let value = await count();
  while (value < atLeast && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await count();
  }
  return value;
}

async function throughput(options: (name: string) => SidecacheOptions, db: BenchSchema, secret: string, log: (m: string) => void): Promise<FeedThroughput> {
  const server = await startSidecache(options('sidecache-feeds-load'));
  let load: Child | undefined;
  try {
    log(`12b ${LOAD_CONNECTIONS} connections of signed Jira deliveries for ${LOAD_WARMUP_MS / 1000} + ${LOAD_MS / 1000} s (load child on the load core, sidecache alone on the server core, audit on)`);
    const cpuBefore = await readCpuSeconds(server.child.pid);
    load = spawnNode({
      name: 'hook-deliveries',
      args: ['--import', 'tsx', join(ROOT, 'bench', 'clients', 'hook-deliveries.ts')],
      env: {
        BASE_URL: server.url,
        SECRET: secret,
        RUN_ID: `bench-${randomSuffix()}`,
        COUNT: String(LOAD_MAX_DELIVERIES),
        ISSUES: String(LOAD_ISSUES),
        CONNECTIONS: String(LOAD_CONNECTIONS),
        WARMUP_MS: String(LOAD_WARMUP_MS),
        DURATION_MS: String(LOAD_MS),
        TIMEOUT_MS: String(LOAD_TIMEOUT_MS),
      },
      cwd: ROOT,
      cpu: 'load',
      announceTimeoutMs: LOAD_WARMUP_MS + LOAD_MS + 60_000,
    });
    const report = (await load.announced) as unknown as DeliveryReport;
    const cpuAfter = await readCpuSeconds(server.child.pid);
    const answeredTotal = Object.values(report.statuses).reduce((n, v) => n + v, 0);
    const auditRows = await rowsReaching(
      () => db.count(`SELECT count(*) AS n FROM audit_logs WHERE action = 'hook.jira' AND resource_id LIKE 'LOAD-%'`),
      answeredTotal,
      ROWS_BUDGET_MS,
    );
    return { load: report, auditRows, answeredTotal, cpuUsPerDelivery: ((cpuAfter - cpuBefore) * 1e6) / Math.max(1, answeredTotal) };
  } finally {
    if (load !== undefined) await stopChild(load);
    await stopChild(server.child);
  }
}

export async function changeFeeds(parts: Parts, log: (message: string) => void): Promise<{ rows: Row[]; result: ChangeFeedsResult }> {
  const result: ChangeFeedsResult = {};
  const origin = spawnNode({ name: 'sandbox', args: ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'sandbox.ts')], cwd: ROOT, cpu: 'load' });
  const db = await createBenchSchema();
  const redis = redisNamespace();
  const spools: ReturnType<typeof tempDir>[] = [];
  const secrets = { jira: `bench-jira-${randomSuffix()}`, salesforce: `bench-sf-${randomSuffix()}` };
  let a: RunningSidecache | undefined;
  let b: RunningSidecache | undefined;
  try {
    const urls = (await origin.announced) as { salesforceUrl: string; jiraUrl: string };
    const options = (name: string): SidecacheOptions => {
      const spool = tempDir('sidecache-bench-feeds-spool-');
      spools.push(spool);
      return {
        name,
        upstreamUrl: urls.jiraUrl,
        redisUrl: REDIS_URL,
        databaseUrl: db.url,
        namespace: redis.namespace,
        audit: { enabled: true, spoolDir: spool.path },
        presetUpstreams: [
          { name: 'salesforce', prefix: '/salesforce', target: urls.salesforceUrl, preset: 'salesforce' },
          { name: 'jira', prefix: '/jira', target: urls.jiraUrl, preset: 'jira' },
        ],
        hooks: `{ jira: { secret: ${JSON.stringify(secrets.jira)}, upstream: jira }, salesforce: { secret: ${JSON.stringify(secrets.salesforce)}, upstream: salesforce } }`,
      };
    };

    if (parts.a) {
      a = await startSidecache(options('sidecache-feeds-a'));
      b = await startSidecache(options('sidecache-feeds-b'));
      const run = randomSuffix();
      const edits = { jira: new Pool(urls.jiraUrl, { connections: 1 }), salesforce: new Pool(urls.salesforceUrl, { connections: 1 }) };
      const deadline = Date.now() + PART_A_BUDGET_MS;
      try {
        for (const feed of feeds(edits, secrets, run)) {
          log(`12a ${DELIVERIES} ${feed.label}s to instance A, each after an edit at the origin of a record both instances cache; reads until each serves the edit`);
          result[feed.name] = await measureFeed(feed, a, b, deadline);
        }
      } finally {
        await Promise.all([edits.jira.close(), edits.salesforce.close()]);
        await stopChild(b.child);
        await stopChild(a.child);
        a = b = undefined;
      }
    }

    if (parts.b) result.throughput = await throughput(options, db, secrets.jira, log);
  } finally {
    if (b !== undefined) await stopChild(b.child);
    if (a !== undefined) await stopChild(a.child);
    await stopChild(origin);
    await db.drop();
    await redis.cleanup();
    for (const spool of spools) await spool.remove();
  }
  return { rows: rowsOf(result), result };
}

const pair = (s: { p50: number; p99: number }) => `${ms(s.p50)} / ${ms(s.p99)}`;
const list = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ') || '-';

function rowsOf(r: ChangeFeedsResult): Row[] {
  const rows: Row[] = [];
  for (const [name, f] of [['Jira webhook', r.jira], ['CDC relay event', r.cdc]] as const) {
    if (f === undefined) continue;
    const ok = f.deliveries - f.non2xx;
    rows.push(
      { scenario: S, metric: `12a ${name}s to A: measured / 2xx / propagated (skipped: not cached as a hit first)`, value: `${f.deliveries} / ${ok} / ${ok - f.notPropagated} (${f.skipped})`, target: `${DELIVERIES} 2xx`, pass: ok === DELIVERIES && f.notPropagated === 0 },
      { scenario: S, metric: `12a ${name}: delivery answered, p50 / p99 (from sending it)`, value: pair(f.answered) },
      { scenario: S, metric: `12a ${name}: A serves the edit, p50 / p99 (max)`, value: `${pair(f.a)} (${ms(f.a.max)})${f.a.never > 0 ? `; never within 2 s: ${f.a.never}` : ''}`, target: `p99 ≤ ${TARGET_MS} ms`, pass: f.a.never === 0 && f.a.p99 <= TARGET_MS },
      { scenario: S, metric: `12a ${name}: B serves the edit, p50 / p99 (max)`, value: `${pair(f.b)} (${ms(f.b.max)})${f.b.never > 0 ? `; never within 2 s: ${f.b.never}` : ''}`, target: `p99 ≤ ${TARGET_MS} ms`, pass: f.b.never === 0 && f.b.p99 <= TARGET_MS },
      { scenario: S, metric: `12a ${name}: B fresh before A's answer arrived; B's first fresh read; read gap (resolution)`, value: `${f.bBeforeAnswer} of ${f.deliveries}; ${list(f.bFirstFresh)}; ${ms(f.resolutionMs)}` },
    );
  }
  const t = r.throughput;
  if (t !== undefined) {
    const twoXx = Object.entries(t.load.statuses).reduce((n, [k, v]) => n + (k.startsWith('2') ? v : 0), 0);
    const sent = t.load.warmup.sent + t.load.measured.sent;
    const errors = Object.values(t.load.errors).reduce((n, v) => n + v, 0);
    rows.push(
      { scenario: S, metric: `12b signed Jira deliveries/s, audit on (${LOAD_CONNECTIONS} connections, ${LOAD_MS / 1000} s after ${LOAD_WARMUP_MS / 1000} s warm-up${t.load.exhausted ? '; ran out of deliveries' : ''})`, value: `${int(t.load.measured.perSecond)}/s` },
      { scenario: S, metric: '12b delivery latency p50 / p99 (max)', value: `${pair(t.load.measured)} (${ms(t.load.measured.max)})` },
      { scenario: S, metric: `12b 2xx of sent (statuses: ${list(t.load.statuses)}; answers: ${list(t.load.outcomes)}${errors > 0 ? `; errors: ${list(t.load.errors)}` : ''})`, value: `${int(twoXx)} of ${int(sent)}`, target: 'all, all invalidated', pass: twoXx === sent && errors === 0 && (t.load.outcomes['invalidated'] ?? 0) === sent },
      { scenario: S, metric: '12b audit rows `hook.jira` after flush, of deliveries answered', value: `${int(t.auditRows)} of ${int(t.answeredTotal)}`, target: 'equal', pass: t.auditRows === t.answeredTotal },
      { scenario: S, metric: '12b server CPU per delivery (warm-up included)', value: `${t.cpuUsPerDelivery.toFixed(1)} µs` },
    );
  }
  return rows;
}
