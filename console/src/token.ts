/**
 * The admin token, kept for this tab only: sessionStorage (cleared when the tab closes), never a
 * cookie, so no other path or tab receives it.
 */
const KEY = 'sidecache.adminToken';

export function readToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // Storage refused (private mode): the token then lives in memory only, until reload.
  }
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
