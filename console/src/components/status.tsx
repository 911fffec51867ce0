import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.js';

/** What a failed call means to an operator, with the API's own message. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'No admin token was sent: log in again.';
    if (error.status === 403) return 'The admin token was refused (403 forbidden): log in with the right token.';
    if (error.code === 'audit_unavailable') return 'The audit trail is not available: this instance has no audit database, or it is down.';
    if (error.status === 0) return error.message;
    return `${error.message} (${error.status} ${error.code})`;
  }
  return (error as Error)?.message ?? String(error);
}

export function ErrorBox({ error, title = 'Request failed' }: { error: unknown; title?: string }) {
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{title}:</strong> {describeError(error)}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p class="muted" aria-busy="true">{what}…</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <p class="empty" data-testid="empty">
      {children}
    </p>
  );
}

export function Stat({ label, value, testId, note }: { label: string; value: string; testId?: string; note?: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-testid={testId}>
        {value}
      </div>
      {note === undefined ? null : <div class="stat-note">{note}</div>}
    </div>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}
