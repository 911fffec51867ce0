/**
 * Load child for scenario 12b (change-feed throughput), run pinned to the load core. Signs
 * COUNT Jira `jira:issue_updated` deliveries up front (HMAC-SHA256 of each body under SECRET,
 * `X-Hub-Signature`), each with an `X-Atlassian-Webhook-Identifier` of its own and an issue out of
 * ISSUES, then POSTs them to `${BASE_URL}/hooks/jira` with CONNECTIONS in flight (closed loop)
 * until they run out or WARMUP_MS + DURATION_MS have passed. Deliveries sent in the first
 * WARMUP_MS are counted apart. Prints one JSON line (latencies in ms).
 * Env: BASE_URL, SECRET, RUN_ID, COUNT, ISSUES, CONNECTIONS, WARMUP_MS, DURATION_MS, TIMEOUT_MS.
 */
import { createHmac } from 'node:crypto';
import { Pool } from 'undici';
import { envNumber, envText } from '../lib/child-env.js';
import { percentile } from '../lib/stats.js';


const BASE_URL = envText('BASE_URL');
const SECRET = envText('SECRET');
const RUN_ID = envText('RUN_ID');
const COUNT = envNumber('COUNT', true);
const ISSUES = envNumber('ISSUES', true);
const CONNECTIONS = envNumber('CONNECTIONS', true);
const WARMUP_MS = envNumber('WARMUP_MS', true);
const DURATION_MS = envNumber('DURATION_MS', true);
const TIMEOUT_MS = envNumber('TIMEOUT_MS', true);

/** What the load child prints (bench/scenarios/change-feeds.ts reads it). */
export interface DeliveryReport {
  readonly signMs: number;
  readonly exhausted: boolean;
  readonly warmup: { readonly sent: number };
  readonly measured: { readonly sent: number; readonly answered: number; readonly seconds: number; readonly perSecond: number; readonly p50: number; readonly p99: number; readonly max: number };
  /** Over every delivery, warm-up included. */
  readonly statuses: Record<string, number>;
  /** `invalidated`, `duplicate`, `ignored` or `other`, from each 2xx answer's body. */
  readonly outcomes: Record<string, number>;
  readonly errors: Record<string, number>;
}

interface Signed {
  readonly body: string;
  readonly headers: Record<string, string>;
}

function sign(i: number): Signed {
  const n = (i % ISSUES) + 1;
  const body = JSON.stringify({
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_updated',
    issue_event_type_name: 'issue_generic',
    issue: { id: String(20_000 + n), key: `LOAD-${n}`, fields: { summary: `edit ${i}` } },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      'x-atlassian-webhook-identifier': `${RUN_ID}-${i}`,
    },
  };
}

const tally = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

function outcomeOf(text: string): string {
  if (text.startsWith('{"invalidated"')) return 'invalidated';
  if (text.includes('"duplicate"')) return 'duplicate';
  if (text.includes('"ignored"')) return 'ignored';
  return 'other';
}

const signStarted = performance.now();
const deliveries = Array.from({ length: COUNT }, (_, i) => sign(i));
const signMs = performance.now() - signStarted;

const url = new URL(BASE_URL);
const pool = new Pool(url.origin, { connections: CONNECTIONS, pipelining: 1 });
const statuses: Record<string, number> = {};
const outcomes: Record<string, number> = {};
const errors: Record<string, number> = {};
const latencies: number[] = [];
let warmupSent = 0;
let measuredSent = 0;
let next = 0;
const started = performance.now();
const measureFrom = started + WARMUP_MS;
const stopAt = measureFrom + DURATION_MS;
let measureEnd = measureFrom;

const worker = async () => {
  while (next < COUNT) {
    const sent = performance.now();
    if (sent >= stopAt) return;
    const delivery = deliveries[next++]!;
    const measured = sent >= measureFrom;
    if (measured) measuredSent += 1;
    else warmupSent += 1;
    try {
      const res = await pool.request({ method: 'POST', path: '/hooks/jira', headers: delivery.headers, body: delivery.body, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
      const text = await res.body.text();
      const done = performance.now();
      tally(statuses, String(res.statusCode));
      if (res.statusCode >= 200 && res.statusCode < 300) tally(outcomes, outcomeOf(text));
      if (measured) {
        latencies.push(done - sent);
        measureEnd = Math.max(measureEnd, done);
      }
    } catch (err) {
      tally(errors, (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'error'));
    }
  }
};

try {
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = Math.max(0.001, (measureEnd - measureFrom) / 1000);
  const report: DeliveryReport = {
    signMs,
    exhausted: next >= COUNT,
    warmup: { sent: warmupSent },
    measured: {
      sent: measuredSent,
      answered: latencies.length,
      seconds,
      perSecond: latencies.length / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.reduce((a, b) => Math.max(a, b), 0),
    },
    statuses,
    outcomes,
    errors,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await pool.close();
}
