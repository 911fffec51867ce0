import { adminJson } from '../api.js';
import type { Stats } from '../types.js';
import { useLoad } from './use-load.js';

/** The configured upstream names (from `/admin/stats`), for the forms' pickers. */
export function useUpstreamNames(): string[] {
  const load = useLoad((signal) => adminJson<Stats>('/admin/stats', { signal }), []);
  return Object.keys(load.data?.upstreams ?? {});
}

export function UpstreamSelect({ names, value, onChange, allowAny = false, testId }: { names: string[]; value: string; onChange: (value: string) => void; allowAny?: boolean; testId?: string }) {
  return (
    <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)} data-testid={testId}>
      {allowAny ? <option value="">any upstream</option> : null}
      {!allowAny && value === '' ? <option value="">choose…</option> : null}
      {names.map((name) => (
        <option key={name} value={name}>{name}</option>
      ))}
    </select>
  );
}
