import type { ComponentChildren } from 'preact';

/** An inline confirmation: says what will happen, then Confirm or Cancel. */
export function Confirm({ children, action, onConfirm, onCancel, busy = false }: { children: ComponentChildren; action: string; onConfirm: () => void; onCancel: () => void; busy?: boolean }) {
  return (
    <div class="confirm" role="alertdialog" aria-label="Confirm" data-testid="confirm">
      <div class="confirm-body">{children}</div>
      <div class="confirm-actions">
        <button type="button" class="danger" onClick={onConfirm} disabled={busy} data-testid="confirm-yes">
          {busy ? 'Working…' : action}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </div>
  );
}
