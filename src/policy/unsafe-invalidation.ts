/**
 * Which stored URIs a response to an unsafe request invalidates (RFC 9111 §4.4), from its
 * method, status and `Location` / `Content-Location` fields (pure).
 */

/**
 * The methods the IANA HTTP Method Registry marks safe: RFC 9110 §9.2.1's GET, HEAD, OPTIONS and
 * TRACE, WebDAV's PROPFIND (RFC 4918 §9.1), REPORT (RFC 3253 §3.6) and SEARCH (RFC 5323 §2), and
 * QUERY (RFC 10008). Every other method, extension methods included, is unsafe: invalidating
 * for a method that changed nothing only costs a refetch.
 */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH', 'QUERY']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/** A non-error response (2xx or 3xx): RFC 9111 §4.4 invalidates on these only. */
export function isNonError(status: number): boolean {
  return status >= 200 && status < 400;
}

/** A place an upstream's resources are named at: an origin and the path they sit below there. */
export interface Mount {
  /** As `URL.origin` spells it: `http://host:8080`, `https://host`. */
  readonly origin: string;
  /** '' or a path without a trailing "/". */
  readonly basePath: string;
}

export interface UnsafeResponse {
  readonly method: string;
  readonly status: number;
  /** The request's path below the upstream's prefix: what its cache entries are stored under. */
  readonly path: string;
  /** The URL the upstream was sent, which relative field values are relative to. */
  readonly upstreamUrl: string;
  /** Where the same upstream's resources are named: its target, the proxy's Host and prefix, `publicUrl`. */
  readonly mounts: readonly Mount[];
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * The paths (below the upstream's prefix) to invalidate: none for a safe method or an error
 * response; else the request's own, and each `Location` / `Content-Location` URI that names a
 * resource of the same upstream. URIs elsewhere are left alone: §4.4 invalidates only "if the
 * host part is the same", so an upstream cannot make the proxy drop another one's entries.
 */
export function invalidatedPaths(response: UnsafeResponse): string[] {
  if (isSafeMethod(response.method) || !isNonError(response.status)) return [];
  const paths = new Set([response.path]);
  for (const name of ['location', 'content-location']) {
    const value = response.headers[name];
    for (const reference of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      const path = mountedPath(reference, response.upstreamUrl, response.mounts);
      if (path !== null) paths.add(path);
    }
  }
  return [...paths];
}

/** The path below the first mount the reference resolves into, or null. */
function mountedPath(reference: string, base: string, mounts: readonly Mount[]): string | null {
  let url: URL;
  try {
    url = new URL(reference, base);
  } catch {
    return null;
  }
  const { pathname } = url;
  for (const { origin, basePath } of mounts) {
    if (url.origin !== origin) continue;
    if (pathname === basePath) return '/';
    if (pathname.startsWith(basePath) && pathname.charCodeAt(basePath.length) === 47 /* "/" */) return pathname.slice(basePath.length);
  }
  return null;
}
