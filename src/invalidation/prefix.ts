/**
 * Path prefixes for invalidation (pure). An entry is subject to every ancestor of its path at a
 * segment boundary (`/a`, `/a/b`, … see EpochTable), so a prefix names a path and everything
 * below it, and matches whole segments only.
 */

/**
 * The prefix as the epoch table indexes it: trailing slashes dropped (`/issue/` means the
 * `issue` path and everything below it, and an ancestor is never recorded with a final "/").
 */
export function normalisePrefix(prefix: string): string {
  let end = prefix.length;
  while (end > 1 && prefix.charCodeAt(end - 1) === 47 /* "/" */) end -= 1;
  return prefix.slice(0, end);
}

/**
 * Why no cache entry's path can ever be at or below this prefix, or null when one can. Entry paths
 * are upstream-relative, carry no query for this purpose, and have no dot-segments (they are
 * removed or refused before a request is forwarded).
 */
export function prefixShapeProblem(prefix: string): string | null {
  if (!prefix.startsWith('/')) return 'must start with "/"';
  if (prefix.includes('?') || prefix.includes('#')) return 'must be a path without "?query" or "#fragment" (a prefix covers every query string of the paths below it)';
  if (/[\u0000-\u0020\u007f]/.test(prefix)) return 'must not contain spaces or control characters (percent-encode them as the requests did)';
  if (prefix.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) {
    return 'must not contain "." or ".." segments (cached paths never do: they are resolved or refused before forwarding)';
  }
  return null;
}

/**
 * Whether some path at or below `prefix` (normalised) can match the rule path pattern `pattern`
 * (`/issue/:key`, `/search/*`): literal segments must be equal, a `:param` takes any non-empty
 * segment, and a final `*` takes any remainder.
 */
export function prefixReachesPattern(prefix: string, pattern: string): boolean {
  const wanted = prefix === '/' ? [] : prefix.split('/').slice(1);
  const parts = pattern.split('/').slice(1);
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  if (wanted.length > parts.length && !rest) return false;
  for (let i = 0; i < Math.min(wanted.length, parts.length); i++) {
    const part = parts[i]!;
    const segment = wanted[i]!;
    if (part.startsWith(':') ? segment === '' : part !== segment) return false;
  }
  return true;
}
