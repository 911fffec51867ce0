import { useState } from 'preact/hooks';
import { adminJson, ApiError } from '../api.js';
import { AuditTable } from '../components/audit-table.js';
import { Empty, ErrorBox } from '../components/status.js';
import { time } from '../format.js';
import type { SessionView } from '../types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One session by id (`/admin/sessions/:id`) and its recent activity. Tokens are never shown (nor their hash). */
export function Sessions() {
  const [id, setId] = useState('');
  const [state, setState] = useState<{ busy: boolean; view?: SessionView; error?: unknown; missing?: boolean; problem?: string }>({ busy: false });

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = id.trim();
    if (!UUID.test(value)) return setState({ busy: false, problem: 'A session id is a UUID (the audit log shows them).' });
    setState({ busy: true });
    try {
      setState({ busy: false, view: await adminJson<SessionView>(`/admin/sessions/${encodeURIComponent(value)}`) });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'session_not_found') setState({ busy: false, missing: true });
      else setState({ busy: false, error });
    }
  };

  const session = state.view?.session;
  return (
    <div>
      <form class="row" onSubmit={submit} data-testid="session-form">
        <label>Session id <input value={id} size={40} placeholder="11111111-1111-4111-8111-111111111111" onInput={(e) => setId((e.target as HTMLInputElement).value)} data-testid="session-id" /></label>
        <button type="submit" disabled={state.busy}>Look up</button>
      </form>
      {state.problem === undefined ? null : <p class="error" role="alert">{state.problem}</p>}
      {state.error === undefined ? null : <ErrorBox error={state.error} />}
      {state.missing ? <Empty>No session has this id (never seen, or expired and swept).</Empty> : null}
      {session === undefined ? null : (
        <section data-testid="session-detail">
          <dl class="facts">
            <dt>id</dt><dd><code>{session.id}</code></dd>
            <dt>user</dt><dd>{session.userIdentifier ?? '—'}</dd>
            <dt>created</dt><dd>{time(session.createdAt)}</dd>
            <dt>last accessed</dt><dd>{time(session.lastAccessed)}</dd>
            <dt>expires</dt><dd>{time(session.expiresAt)}</dd>
            <dt>token</dt><dd class="muted">never shown (only a keyed hash is stored)</dd>
          </dl>
          <h2>Recent activity</h2>
          {state.view!.recentActivity.length === 0 ? <Empty>No audited requests for this session.</Empty> : <AuditTable items={state.view!.recentActivity} testId="session-activity" />}
        </section>
      )}
    </div>
  );
}
