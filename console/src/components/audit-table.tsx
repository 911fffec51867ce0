import { count, time } from '../format.js';
import type { AuditItem } from '../types.js';

/** Audit rows as a table (the log and a session's recent activity). */
export function AuditTable({ items, testId }: { items: AuditItem[]; testId?: string }) {
  return (
    <table data-testid={testId}>
      <thead>
        <tr><th>time</th><th>user</th><th>upstream</th><th>method</th><th>path</th><th>action</th><th>status</th><th>cache</th><th>ms</th></tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.requestId + item.ts}>
            <td class="nowrap">{time(item.ts)}</td>
            <td>{item.userIdentifier ?? '—'}</td>
            <td>{item.upstream ?? '—'}</td>
            <td>{item.method ?? '—'}</td>
            <td><code>{item.path ?? ''}{item.query === null ? '' : `?${item.query}`}</code></td>
            <td>{item.action ?? '—'}</td>
            <td>{item.status ?? '—'}{item.errorCode === null ? '' : ` ${item.errorCode}`}</td>
            <td>{item.cacheOutcome ?? '—'}{item.cacheTier === null ? '' : ` (${item.cacheTier})`}</td>
            <td class="num">{count(item.totalMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
