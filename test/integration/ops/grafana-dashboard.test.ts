import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { adminUrl, waitFor } from '../../helpers/drill.js';
import { postgresOrSkip } from '../../helpers/database.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';
import { prometheusToolOrSkip, startPrometheus } from '../../helpers/prometheus.js';
import { redisOrSkip } from '../../helpers/redis.js';

interface Target {
  readonly refId: string;
  readonly expr: string;
  readonly datasource?: { uid: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly datasource?: { type: string; uid: string };
  readonly targets?: Target[];
}

const dashboard = JSON.parse(readFileSync(new URL('../../../ops/grafana/sidecache.json', import.meta.url), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
};
const alertRules = (
  parse(readFileSync(new URL('../../../ops/prometheus/alerts.yml', import.meta.url), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }
).groups.flatMap((g) => g.rules);
const panels = dashboard.panels.filter((p) => p.type !== 'row');

/** A panel's query as Grafana sends it with every instance and upstream selected. */
const asSent = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*').replaceAll('$upstream', '.*');

/** Metric families an expression names (histogram series map to their family). */
const metricNames = (expr: string) => [...expr.matchAll(/\bsidecache_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));

t.test('the dashboard is importable: a datasource variable, unique ids, every panel on the grid with queries', async (t) => {
  t.equal(dashboard.uid, 'sidecache');
  t.same(
    dashboard.templating.list.map((v) => v.name),
    ['datasource', 'instance', 'upstream'],
  );
  const ids = dashboard.panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const cells = new Set<string>();
  for (const panel of dashboard.panels) {
    const { x, y, w, h } = panel.gridPos;
    t.ok(x >= 0 && w > 0 && x + w <= 24, `${panel.title} fits the 24-column grid`);
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        const cell = `${col},${row}`;
        if (cells.has(cell)) t.fail(`${panel.title} overlaps another panel at ${cell}`);
        cells.add(cell);
      }
    }
  }
  for (const panel of panels) {
    t.equal(panel.datasource?.uid, '${datasource}', `${panel.title} uses the datasource variable`);
    t.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`);
    for (const target of panel.targets ?? []) t.ok(target.expr.includes('sidecache_'), `${panel.title} ${target.refId} reads a sidecache metric`);
  }
  const titles = panels.map((p) => p.title).join(' | ');
  for (const topic of [/Hit ratio/, /by outcome/, /Latency .* by tier/, /Breaker/, /quota/i, /Tier errors/, /Audit queue/, /Database pool/]) {
    t.match(titles, topic, `a panel for ${topic}`);
  }
});

t.test('every dashboard query and alert expression runs in a real Prometheus scraping a real sidecache', async (t) => {
  const prometheus = prometheusToolOrSkip(t, 'prometheus');
  if (prometheus === null) return;
  const redis = await redisOrSkip(t);
  if (redis === null) return;
  const pg = await postgresOrSkip(t);
  if (pg === null) return;
  const db = await pg.open(t);
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const config = writeConfig(
    t,
    `
server: { host: 127.0.0.1, port: 0 }
cache:
  keySecret: dashboard-secret
  namespace: ${redis.namespace}
  redis: { url: ${JSON.stringify(redis.url)} }
  postgres: { enabled: true }
database: { url: ${JSON.stringify(db.url)} }
audit: { enabled: true, flushInterval: 100ms }
upstreams:
  - name: api
    prefix: /api
    target: ${upstream.url}
    rules:
      - { path: /items/:id, ttl: 10m }
`,
  );
  const proc = await startSidecacheProcess(t, config);
  const admin = await adminUrl(proc);

  // The names first: a typo in a query would otherwise just draw an empty panel.
  const exposition = await (await fetch(`${admin}/metrics`)).text();
  const exported = new Set([...exposition.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
  const named = new Set([...panels.flatMap((p) => (p.targets ?? []).flatMap((q) => metricNames(q.expr))), ...alertRules.flatMap((r) => metricNames(r.expr))]);
  for (const name of named) t.ok(exported.has(name), `${name} is exported by /metrics`);

  const server = await startPrometheus(t, prometheus, [new URL(admin).host]);
  // Traffic while Prometheus scrapes: misses, then memory hits, so rates and ratios have data.
  const deadline = Date.now() + 20_000;
  let sent = 0;
  await waitFor(
    'three scrapes with traffic between them',
    async () => {
      for (let i = 0; i < 5 && Date.now() < deadline; i++) {
        await (await fetch(`${proc.url}/api/items/${sent % 7}`)).arrayBuffer();
        sent += 1;
      }
      const samples = await server.query('count_over_time(sidecache_requests_total{cache="hit"}[1m])');
      const counts = (samples.data?.result ?? []) as { value: [number, string] }[];
      return counts.some((r) => Number(r.value[1]) >= 3);
    },
    20_000,
    300,
  );

  const mustHaveData = new Set(['Requests per second by outcome', 'Hit ratio', 'Latency p50 / p95 by tier', 'Tier up', 'Audit queue', 'Database pool', 'Look-ups by tier and result']);
  for (const panel of panels) {
    for (const target of panel.targets ?? []) {
      const answer = await server.query(asSent(target.expr));
      t.equal(answer.status, 'success', `${panel.title} ${target.refId} runs${answer.error === undefined ? '' : `: ${answer.error}`}`);
      if (mustHaveData.has(panel.title) && target.refId === 'A') t.ok((answer.data?.result ?? []).length > 0, `${panel.title} draws data`);
    }
  }
  for (const rule of alertRules) {
    const answer = await server.query(rule.expr);
    t.equal(answer.status, 'success', `${rule.alert} runs${answer.error === undefined ? '' : `: ${answer.error}`}`);
  }
  const byTier = await server.query('sum by (tier) (sidecache_request_duration_seconds_count{cache="hit"})');
  t.ok(
    (byTier.data?.result as { metric: { tier?: string } }[]).some((r) => r.metric.tier === 'memory'),
    'memory hits carry tier="memory" on the latency histogram',
  );
});
