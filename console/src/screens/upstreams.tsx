import { useState } from 'preact/hooks';
import { adminJson, query } from '../api.js';
import { Empty, ErrorBox, Loading } from '../components/status.js';
import { useLoad } from '../components/use-load.js';
import { count, percent, seconds } from '../format.js';
import type { Traffic, UpstreamsView } from '../types.js';

const WINDOWS = ['15m', '1h', '24h', '7d'];

/** Each upstream's rules, with traffic and hit ratio per rule over a window (`/admin/upstreams`). */
export function Upstreams() {
  const [window, setWindow] = useState('1h');
  const load = useLoad((signal) => adminJson<UpstreamsView>(`/admin/upstreams${query({ window })}`, { signal }), [window]);

  return (
    <div>
      <label class="inline">
        Window{' '}
        <select value={window} onChange={(e) => setWindow((e.target as HTMLSelectElement).value)} data-testid="upstreams-window">
          {WINDOWS.map((w) => (
            <option key={w} value={w}>{w}</option>
          ))}
        </select>
      </label>{' '}
      <button type="button" onClick={load.reload}>Refresh</button>
      {load.error !== undefined ? <ErrorBox error={load.error} /> : null}
      {load.data === undefined ? (load.loading ? <Loading /> : null) : <UpstreamTables view={load.data} />}
    </div>
  );
}

function UpstreamTables({ view }: { view: UpstreamsView }) {
  if (view.upstreams.length === 0) return <Empty>No upstream is configured: add one under <code>upstreams:</code> in the config.</Empty>;
  return (
    <div>
      {view.trafficSource === 'unavailable' ? (
        <p class="notice">Traffic per rule comes from the audit trail, which is unavailable: {view.trafficError ?? 'unknown reason'}.</p>
      ) : (
        <p class="muted">Traffic over the last {view.window}, from the audit trail (each request counts toward the rule that matched it).</p>
      )}
      {view.upstreams.map((upstream) => (
        <section key={upstream.name} data-testid={`upstream-${upstream.name}`}>
          <h2>
            {upstream.name} <span class="muted">{upstream.prefix}</span> {upstream.enabled ? null : <span class="badge badge-muted">disabled (no target)</span>}
          </h2>
          <table>
            <thead>
              <tr><th>rule</th><th>methods</th><th>path</th><th>caching</th><th>tags</th><th>requests</th><th>hit ratio</th><th>errors</th></tr>
            </thead>
            <tbody>
              {upstream.rules.length === 0 ? <tr><td colSpan={8} class="muted">No rules: every request passes through.</td></tr> : null}
              {upstream.rules.map((rule) => (
                <tr key={rule.name} data-rule={rule.name}>
                  <td>{rule.name}</td>
                  <td>{rule.methods.join(', ')}</td>
                  <td><code>{rule.path}</code></td>
                  <td>{rule.cache ? `${seconds(rule.ttlSeconds)}, ${rule.scope}` : 'pass-through'}</td>
                  <td>{rule.tags.join(', ') || '—'}</td>
                  <TrafficCells traffic={rule.traffic} />
                </tr>
              ))}
              {upstream.unmatched !== null && upstream.unmatched.requests > 0 ? (
                <tr class="muted-row">
                  <td colSpan={5}>no rule (passed through)</td>
                  <TrafficCells traffic={upstream.unmatched} />
                </tr>
              ) : null}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}

function TrafficCells({ traffic }: { traffic: Traffic | null }) {
  return (
    <>
      <td class="num">{count(traffic?.requests)}</td>
      <td class="num">{percent(traffic?.hitRatio)}</td>
      <td class="num">{count(traffic?.errors)}</td>
    </>
  );
}
