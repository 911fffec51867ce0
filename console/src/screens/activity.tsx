import { useState } from 'preact/hooks';
import { adminJson, query } from '../api.js';
import { Bars, Chart } from '../components/chart.js';
import { Empty, ErrorBox, Loading, Stat } from '../components/status.js';
import { useLoad } from '../components/use-load.js';
import { count, ms, percent } from '../format.js';
import type { AuditReport } from '../types.js';
import { AuditLog } from './audit-log.js';

const WINDOWS = ['24h', '7d', '30d', '90d'];
const OUTCOME_TONES: Record<string, string> = { HIT: 'ok', STALE: 'ok', REVALIDATED: 'ok', MISS: 'warn', BYPASS: 'muted', NONE: 'muted' };

/** The audit report (`/admin/audit/report`) as charts and tables, and the filterable audit log. */
export function Activity() {
  const [window, setWindow] = useState('7d');
  const load = useLoad((signal) => adminJson<AuditReport>(`/admin/audit/report${query({ window })}`, { signal }), [window]);

  return (
    <div>
      <label class="inline">
        Window{' '}
        <select value={window} onChange={(e) => setWindow((e.target as HTMLSelectElement).value)} data-testid="activity-window">
          {WINDOWS.map((w) => <option key={w} value={w}>{w}</option>)}
        </select>
      </label>{' '}
      <button type="button" onClick={load.reload} data-testid="activity-refresh">Refresh</button>
      {load.error !== undefined ? <ErrorBox error={load.error} /> : null}
      {load.data === undefined ? (load.loading ? <Loading /> : null) : <Report report={load.data} />}
      <h2>Audit log</h2>
      <AuditLog />
    </div>
  );
}

function Report({ report }: { report: AuditReport }) {
  if (report.totalRequests === 0) return <Empty>No audited requests in the last {report.window}.</Empty>;
  const days = report.byDay.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
  return (
    <div data-testid="activity-report">
      <section class="stats">
        <Stat label={`Requests (${report.window})`} value={count(report.totalRequests)} testId="activity-total" />
        <Stat label="Errors" value={count(report.errorCount)} testId="activity-errors" />
        <Stat label="Hit ratio" value={percent(report.hitRatio)} testId="activity-hit-ratio" />
        <Stat label="Total p50 / p95" value={`${ms(report.latency.totalP50)} / ${ms(report.latency.totalP95)}`} />
        <Stat label="Upstream p50 / p95" value={`${ms(report.latency.upstreamP50)} / ${ms(report.latency.upstreamP95)}`} />
      </section>
      <h2>Requests by day</h2>
      <Chart x={days} values={[report.byDay.map((d) => d.requests), report.byDay.map((d) => d.errors)]} series={[{ label: 'requests', color: '#4aa3df' }, { label: 'errors', color: '#d64545' }]} bars padX={86_400} testId="activity-by-day" />
      <div class="columns">
        <section>
          <h2>By cache outcome</h2>
          <Bars testId="activity-outcome" rows={Object.entries(report.byCacheOutcome).map(([label, value]) => ({ label, value, tone: OUTCOME_TONES[label] ?? '' }))} />
        </section>
        <section>
          <h2>Top actions</h2>
          <Bars testId="activity-action" rows={report.byAction.slice(0, 12).map((a) => ({ label: a.action ?? '(none)', value: a.requests }))} />
        </section>
      </div>
      <div class="columns">
        <section>
          <h2>Top users</h2>
          {report.byUser.length === 0 ? <p class="muted">No users.</p> : <Bars testId="activity-user" rows={report.byUser.map((u) => ({ label: u.user ?? '(anonymous)', value: u.requests }))} />}
        </section>
        <section>
          <h2>Top resources</h2>
          {report.topResources.length === 0 ? (
            <p class="muted">No request named a resource (rules set <code>resourceType</code>/<code>resourceId</code>).</p>
          ) : (
            <table data-testid="activity-resources">
              <thead><tr><th>type</th><th>id</th><th>requests</th><th>errors</th></tr></thead>
              <tbody>
                {report.topResources.map((r) => (
                  <tr key={`${r.resourceType}/${r.resourceId ?? ''}`}><td>{r.resourceType}</td><td><code>{r.resourceId ?? '—'}</code></td><td class="num">{count(r.requests)}</td><td class="num">{count(r.errors)}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <h2>By upstream</h2>
      <table data-testid="activity-upstreams">
        <thead><tr><th>upstream</th><th>requests</th><th>errors</th><th>hit ratio</th><th>total p50 / p95</th><th>upstream p50 / p95</th></tr></thead>
        <tbody>
          {report.byUpstream.map((u) => (
            <tr key={u.upstream ?? '(none)'} data-upstream={u.upstream ?? '(none)'}>
              <td>{u.upstream ?? '(no upstream)'}</td>
              <td class="num">{count(u.requests)}</td>
              <td class="num">{count(u.errors)}</td>
              <td class="num">{percent(u.hitRatio)}</td>
              <td>{ms(u.latency.totalP50)} / {ms(u.latency.totalP95)}</td>
              <td>{ms(u.latency.upstreamP50)} / {ms(u.latency.upstreamP95)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>By day</h2>
      <table>
        <thead><tr><th>day (UTC)</th><th>requests</th><th>errors</th></tr></thead>
        <tbody>{report.byDay.map((d) => <tr key={d.day}><td>{d.day}</td><td class="num">{count(d.requests)}</td><td class="num">{count(d.errors)}</td></tr>)}</tbody>
      </table>
    </div>
  );
}
