import { useState } from 'preact/hooks';
import { adminJson } from '../api.js';
import { ErrorBox } from '../components/status.js';
import { UpstreamSelect } from '../components/upstream-select.js';
import type { WarmResult } from '../types.js';

const MAX_PATHS = 100;

/** `POST /admin/warm` from a list of paths: each is fetched through the proxy's own read path (and audited there). */
export function Warm({ names }: { names: string[] }) {
  const [upstream, setUpstream] = useState('');
  const [paths, setPaths] = useState('');
  const [state, setState] = useState<{ busy: boolean; result?: WarmResult; error?: unknown; problem?: string }>({ busy: false });

  const submit = async (event: Event) => {
    event.preventDefault();
    const list = paths.split('\n').map((p) => p.trim()).filter((p) => p !== '');
    if (upstream === '') return setState({ busy: false, problem: 'Choose an upstream.' });
    if (list.length === 0) return setState({ busy: false, problem: 'Enter at least one path, one per line.' });
    if (list.length > MAX_PATHS) return setState({ busy: false, problem: `At most ${MAX_PATHS} paths per run (${list.length} given).` });
    setState({ busy: true });
    try {
      const result = await adminJson<WarmResult>('/admin/warm', { method: 'POST', body: { requests: list.map((path) => ({ upstream, path })) } });
      setState({ busy: false, result });
    } catch (error) {
      setState({ busy: false, error });
    }
  };

  return (
    <form class="stack" onSubmit={submit} data-testid="warm-form">
      <p class="muted">Each path is fetched with GET through the proxy's own read path, so rules, keys and the audit trail apply as for a client. No credential is sent: entries land in the shared partition (for rules scoped per authorization or session, the partition of callers without one).</p>
      <label>Upstream <UpstreamSelect names={names} value={upstream} onChange={setUpstream} testId="warm-upstream" /></label>
      <label>Paths, one per line <textarea rows={5} value={paths} placeholder={'/items/1\n/items/2?fields=name'} onInput={(e) => setPaths((e.target as HTMLTextAreaElement).value)} data-testid="warm-paths" /></label>
      <div><button type="submit" disabled={state.busy} data-testid="warm-run">{state.busy ? 'Warming…' : 'Warm'}</button></div>
      {state.problem === undefined ? null : <p class="error" role="alert">{state.problem}</p>}
      {state.error === undefined ? null : <ErrorBox error={state.error} title="Warm failed" />}
      {state.result === undefined ? null : (
        <div data-testid="warm-result">
          <p class={state.result.summary.failed === 0 ? 'success' : 'notice'}>{state.result.summary.ok} of {state.result.summary.total} fetched ({state.result.tookMs} ms).</p>
          <table>
            <thead><tr><th>path</th><th>status</th><th>cache</th><th>error</th></tr></thead>
            <tbody>
              {state.result.results.map((r, i) => (
                <tr key={i}><td><code>{r.path}</code></td><td>{r.status}</td><td>{r.cache ?? '—'}</td><td>{r.error ?? ''}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </form>
  );
}
