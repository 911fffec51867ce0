/** Calls to the admin listener this page came from, with the bearer token. */

/** A failed call, with what the admin API said (`error`, `message`) when it said anything. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** 401/403: the token is missing or wrong; the app returns to the login form. */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

type Listener = (error: ApiError) => void;
let onUnauthorized: Listener = () => {};
let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

/** Called whenever the admin API refuses the token, so every screen shares one reaction. */
export function onTokenRefused(listener: Listener): void {
  onUnauthorized = listener;
}

/** GET/POST a JSON admin route (`/admin/...`). */
export async function adminJson<T>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await send(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: reported below by status
  }
  if (!response.ok) {
    const body = (parsed ?? {}) as { error?: string; message?: string };
    const error = new ApiError(response.status, body.error ?? `http_${response.status}`, body.message ?? (text.slice(0, 200) || response.statusText));
    if (error.unauthorized) onUnauthorized(error);
    throw error;
  }
  return parsed as T;
}

/** GET a token-free text route (`/metrics`, `/readyz`); a 503 from /readyz still has a body. */
export async function publicText(path: string, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  const response = await send(path, { headers: { accept: 'text/plain, application/json' }, ...(signal === undefined ? {} : { signal }) });
  return { status: response.status, text: await response.text() };
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { ...init, credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', `the admin listener did not answer (${(err as Error).message})`);
  }
}

/** Query string from defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const pairs = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== '');
  return pairs.length === 0 ? '' : `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString()}`;
}
