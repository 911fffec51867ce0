import { useRef, useState } from 'preact/hooks';
import { adminJson, publicText } from '../api.js';
import { Chart } from '../components/chart.js';
import { usePolling } from '../components/use-polling.js';
import { Badge, ErrorBox, Loading, Stat } from '../components/status.js';
import { bytes, count, ms, percent, rate, seconds } from '../format.js';
import { parseMetrics, type Sample } from '../metrics-text.js';
import type { AuditReport, Readiness, Stats, UpstreamStats } from '../types.js';
import { callsSaved, hitRatio, latencyByTier, OUTCOMES, quotas, rates, snapshot, type Snapshot } from './overview-model.js';

export const POLL_MS = 3000;
/** The last hour's hit ratio comes from the audit trail (`/admin/audit/report?window=1h`), asked this often. */
const REPORT_POLL_MS = 30_000;
const HOUR_MS = 3_600_000;
const CHART_POINTS = 100;
const COLORS: Record<string, string> = { hit: '#2e9e5b', stale: '#8bc34a', miss: '#e0a030', revalidated: '#4aa3df', bypass: '#8a94a6', none: '#b0b7c3', error: '#d64545' };

interface Reading {
  stats: Stats;
  ready: Readiness | null;
  samples: Sample[];
  snap: Snapshot;
}

/** Live figures: `/admin/stats`, `/metrics` and `/readyz` every few seconds, rates from the difference. */
export function Overview() {
  const [reading, setReading] = useState<Reading | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const history = useRef<Snapshot[]>([]);
  const [series, setSeries] = useState<{ x: number[]; values: (number | null)[][] }>({ x: [], values: [] });
  // null while the audit trail cannot say (audit off, no cacheable request in the hour, a failed ask).
  const [hourRatio, setHourRatio] = useState<number | null>(null);

  usePolling(async (stopped) => {
    try {
      const report = await adminJson<AuditReport>('/admin/audit/report?window=1h');
      if (!stopped()) setHourRatio(report.hitRatio);
    } catch {
      if (!stopped()) setHourRatio(null);
    }
  }, REPORT_POLL_MS);

  usePolling(async (stopped) => {
    try {
      const [stats, metrics, ready] = await Promise.all([adminJson<Stats>('/admin/stats'), publicText('/metrics'), publicText('/readyz')]);
      if (stopped()) return;
      if (metrics.status !== 200) throw new Error(`/metrics answered ${metrics.status}`);
      const samples = parseMetrics(metrics.text);
      const snap = snapshot(samples, Date.now());
      const kept = history.current.filter((s) => snap.at - s.at <= HOUR_MS);
      kept.push(snap);
      history.current = kept;
      setSeries(chartSeries(kept));
      setReading({ stats, samples, snap, ready: parseReady(ready.text) });
      setError(undefined);
    } catch (err) {
      if (!stopped()) setError(err);
    }
  }, POLL_MS);

  if (reading === null) return error === undefined ? <Loading /> : <ErrorBox error={error} />;
  const { stats, samples, snap, ready } = reading;
  const kept = history.current;
  const previous = kept.length >= 2 ? kept[kept.length - 2]! : null;
  const now = previous === null ? null : rates(previous, snap);
  const ratioWindow = hitRatio(kept.length >= 2 ? kept[0]! : null, snap);
  const windowMinutes = Math.max(0, Math.round((snap.at - kept[0]!.at) / 60_000));
  const latencies = latencyByTier(samples);
  const quota = quotas(samples);
  const upstreamNames = Object.keys(stats.upstreams);
  const saved = callsSaved(samples, snap);
  const todays = upstreamNames.flatMap((name) => (typeof stats.upstreams[name]?.quota?.callsSavedToday === 'number' ? [stats.upstreams[name]!.quota!.callsSavedToday!] : []));
  const savedToday = todays.length === 0 ? null : todays.reduce((a, b) => a + b, 0);

  return (
    <div>
      {error === undefined ? null : <ErrorBox error={error} title="Last refresh failed (showing the previous figures)" />}
      <p class="muted">
        Refreshed every {POLL_MS / 1000} s · up {seconds(stats.uptimeSeconds)} · version {stats.version} · config {stats.configDigest}
      </p>
      <section class="stats">
        <Stat label="Requests since start" value={count(snap.requests)} testId="overview-requests" />
        <Stat label="Requests / s (now)" value={now === null ? '—' : rate(Object.values(now).reduce((a, b) => a + b, 0) - now.error)} testId="overview-rps" />
        <Stat
          label="Hit ratio"
          value={percent(hourRatio ?? ratioWindow ?? hitRatio(null, snap))}
          testId="overview-hit-ratio"
          note={hourRatio !== null ? 'last hour (audit trail)' : kept.length >= 2 ? `last ${windowMinutes < 1 ? '<1' : windowMinutes} min seen by this page (at most 1 h)` : 'since start'}
        />
        <Stat label="Upstream calls saved" value={count(saved.value)} testId="overview-saved" note={`${saved.counted ? 'answered with no upstream call' : 'estimated: hits + stale'}, since start${savedToday === null ? '' : `; ${count(savedToday)} today (UTC)`}`} />
        <Stat label="Errors / s" value={now === null ? '—' : rate(now.error)} testId="overview-errors" />
        <Stat label="Audit queue" value={stats.audit === null ? 'off' : count(stats.audit.buffered + stats.audit.spoolPendingRows)} testId="overview-audit-queue" note={stats.audit === null ? 'audit disabled' : stats.audit.spoolFailing ? 'spool failing!' : `${count(stats.audit.written)} written, ${count(stats.audit.dropped)} dropped`} />
      </section>

      <h2>Requests per second by outcome</h2>
      {series.x.length < 2 ? (
        <p class="muted">The chart starts after two refreshes.</p>
      ) : (
        <Chart x={series.x} values={series.values} series={[...OUTCOMES, 'error' as const].map((o) => ({ label: o.toUpperCase(), color: COLORS[o]! }))} testId="overview-chart" />
      )}

      <div class="columns">
        <section>
          <h2>Latency by answering tier (since start)</h2>
          <table>
            <thead>
              <tr><th>answered by</th><th>p50</th><th>p95</th></tr>
            </thead>
            <tbody>
              {latencies.length === 0 ? (
                <tr><td colSpan={3} class="muted">No requests yet.</td></tr>
              ) : (
                latencies.map((row) => (
                  <tr key={row.tier}><td>{row.tier}</td><td>{ms(row.p50)}</td><td>{ms(row.p95)}</td></tr>
                ))
              )}
              {upstreamNames.map((name) => (
                <tr key={`u-${name}`} class="muted-row">
                  <td>upstream call: {name}</td>
                  <td>{ms(stats.upstreams[name]?.upstreamLatencyMs?.p50)}</td>
                  <td>{ms(stats.upstreams[name]?.upstreamLatencyMs?.p95)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section>
          <h2>Tiers</h2>
          <table data-testid="overview-tiers">
            <thead>
              <tr><th>tier</th><th>health</th><th>hit ratio</th><th>entries</th><th>bytes</th><th>errors</th></tr>
            </thead>
            <tbody>
              {Object.entries(stats.tiers).map(([name, tier]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td><Badge tone={tone(ready?.tiers?.[name] ?? tier.health)}>{ready?.tiers?.[name] ?? tier.health}</Badge>{tier.breaker === 'none' ? null : <span class="muted"> breaker {tier.breaker}</span>}</td>
                  <td>{percent(tier.hitRatio)}</td>
                  <td>{count(tier.entries)}</td>
                  <td>{bytes(tier.bytes)}</td>
                  <td>{count(tier.errors + tier.timeouts)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      <h2>Upstreams</h2>
      {upstreamNames.length === 0 ? (
        <p class="empty">No upstream is configured.</p>
      ) : (
        <table data-testid="overview-upstreams">
          <thead>
            <tr><th>upstream</th><th>breaker</th><th>paused</th><th>limit</th><th>in flight</th><th>queued</th><th>requests</th><th>5xx</th><th>quota</th></tr>
          </thead>
          <tbody>
            {upstreamNames.map((name) => {
              const live = ready?.upstreams?.[name];
              const figures = stats.upstreams[name] ?? {};
              const q = quotaOf(figures, quota.get(name));
              return (
                <tr key={name}>
                  <td>{name}{live?.state === 'disabled' ? <span class="muted"> (disabled)</span> : null}</td>
                  <td><Badge tone={live === undefined ? 'muted' : live.circuit === 'closed' ? 'ok' : live.circuit === 'open' ? 'bad' : 'warn'}>{live?.circuit ?? 'unknown'}</Badge></td>
                  <td>{live === undefined || live.pausedForMs === 0 ? '—' : `${Math.ceil(live.pausedForMs / 1000)} s`}</td>
                  <td>{count(live?.limit)}</td>
                  <td>{count(live?.inFlight ?? figures.inFlight ?? 0)}</td>
                  <td>{count(live?.queued)}</td>
                  <td>{count(figures.requests ?? 0)}</td>
                  <td>{count(figures.errors ?? 0)}</td>
                  <td>
                    {q === undefined ? 'unknown' : q.limit > 0 ? `${count(q.used)} / ${count(q.limit)} (${percent(q.used / q.limit)})` : count(q.used)}
                    {figures.quota?.saver?.on ? <Badge tone="warn">saver on</Badge> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function chartSeries(kept: readonly Snapshot[]): { x: number[]; values: (number | null)[][] } {
  const recent = kept.slice(-CHART_POINTS - 1);
  const x: number[] = [];
  const values: (number | null)[][] = [...OUTCOMES, 'error'].map(() => []);
  for (let i = 1; i < recent.length; i++) {
    const r = rates(recent[i - 1]!, recent[i]!);
    x.push(recent[i]!.at / 1000);
    [...OUTCOMES, 'error' as const].forEach((o, j) => values[j]!.push(r[o]));
  }
  return { x, values };
}

/** Quota used/limit: what `/admin/stats` last heard from the upstream, else the `/metrics` gauges. */
function quotaOf(figures: UpstreamStats, scraped: { used: number; limit: number } | undefined): { used: number; limit: number } | undefined {
  const reported = figures.quota?.lastReported;
  if (reported?.used !== null && reported?.used !== undefined) return { used: reported.used, limit: reported.limit ?? 0 };
  return scraped;
}

function parseReady(text: string): Readiness | null {
  try {
    return JSON.parse(text) as Readiness;
  } catch {
    return null;
  }
}

function tone(health: string): 'ok' | 'warn' | 'bad' | 'muted' {
  return health === 'up' || health === 'ok' ? 'ok' : health === 'down' || health === 'failing' ? 'bad' : 'warn';
}
