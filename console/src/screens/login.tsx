import { useState } from 'preact/hooks';
import { adminJson, ApiError, setToken } from '../api.js';
import { ErrorBox } from '../components/status.js';

/** Asks for the admin token and checks it against `/admin/stats` before keeping it. */
export function Login({ onLogin, reason }: { onLogin: (token: string) => void; reason: unknown }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(reason);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const token = value.trim();
    if (token === '') return setError(new Error('Enter the admin token (ADMIN_TOKEN).'));
    setBusy(true);
    setToken(token);
    try {
      await adminJson('/admin/stats');
      onLogin(token);
    } catch (err) {
      setToken(null);
      setError(err instanceof ApiError && err.status === 404 ? new Error('This listener has no admin API (ADMIN_TOKEN is not set).') : err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>sidecache console</h1>
      <form onSubmit={submit} data-testid="login-form">
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
        <p class="muted">Kept in this tab only (sessionStorage), sent as a bearer token to /admin/*.</p>
      </form>
      {error === undefined ? null : <ErrorBox error={error} title="Cannot log in" />}
    </main>
  );
}
