import { useState } from 'preact/hooks';
import { adminJson, query } from '../api.js';
import { AuditTable } from '../components/audit-table.js';
import { Empty, ErrorBox, Loading } from '../components/status.js';
import type { AuditItem, AuditPage } from '../types.js';

const FILTERS = [
  { name: 'user', label: 'User', placeholder: 'alice' },
  { name: 'upstream', label: 'Upstream', placeholder: 'salesforce' },
  { name: 'action', label: 'Action', placeholder: 'salesforce.sobject.read' },
  { name: 'status', label: 'Status', placeholder: '404 or 5xx' },
  { name: 'session', label: 'Session', placeholder: 'uuid' },
  { name: 'from', label: 'From', placeholder: '2025-03-10T00:00:00Z' },
  { name: 'to', label: 'To', placeholder: '2025-03-11' },
] as const;
const OUTCOMES = ['', 'HIT', 'MISS', 'STALE', 'REVALIDATED', 'BYPASS', 'NONE'];
type Filters = Record<(typeof FILTERS)[number]['name'] | 'cache', string>;

/** `GET /admin/audit` with its filters, newest first, a page at a time. */
export function AuditLog() {
  const [filters, setFilters] = useState<Filters>({ user: '', upstream: '', action: '', status: '', session: '', from: '', to: '', cache: '' });
  const [page, setPage] = useState<{ items: AuditItem[]; next: string | null } | null>(null);
  const [state, setState] = useState<{ busy: boolean; error?: unknown }>({ busy: false });

  const fetchPage = async (cursor: string | null) => {
    setState({ busy: true });
    try {
      const result = await adminJson<AuditPage>(`/admin/audit${query({ ...filters, limit: 50, cursor })}`);
      setPage((old) => ({ items: cursor === null ? result.items : [...(old?.items ?? []), ...result.items], next: result.nextCursor }));
      setState({ busy: false });
    } catch (error) {
      setState({ busy: false, error });
    }
  };

  return (
    <div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void fetchPage(null);
        }}
        data-testid="audit-filters"
      >
        {FILTERS.map((f) => (
          <label key={f.name}>
            {f.label} <input value={filters[f.name]} placeholder={f.placeholder} onInput={(e) => setFilters((old) => ({ ...old, [f.name]: (e.target as HTMLInputElement).value.trim() }))} data-testid={`audit-${f.name}`} />
          </label>
        ))}
        <label>
          Cache{' '}
          <select value={filters.cache} onChange={(e) => setFilters((old) => ({ ...old, cache: (e.target as HTMLSelectElement).value }))} data-testid="audit-cache">
            {OUTCOMES.map((o) => <option key={o} value={o}>{o === '' ? 'any' : o}</option>)}
          </select>
        </label>
        <button type="submit" disabled={state.busy} data-testid="audit-search">Search</button>
      </form>
      {state.error === undefined ? null : <ErrorBox error={state.error} />}
      {page === null ? (state.busy ? <Loading /> : <p class="muted">Search to list audit rows (all filters optional).</p>) : page.items.length === 0 ? <Empty>No audit rows match.</Empty> : <AuditTable items={page.items} testId="audit-rows" />}
      {page?.next ? <button type="button" onClick={() => void fetchPage(page.next)} disabled={state.busy}>Load more</button> : null}
    </div>
  );
}
