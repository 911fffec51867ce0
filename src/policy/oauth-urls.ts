/**
 * Salesforce OAuth answers that would send a client away from the proxy (pure). A token response
 * (`POST /services/oauth2/token`, every grant type) names the org's `instance_url` and `id`, the
 * identity URL; `/services/oauth2/userinfo` lists the org's API URLs (`urls`, `profile`, `sub`).
 * Clients such as jsforce switch to `instance_url` for every later call, so each of these URLs is
 * rewritten onto the upstream's public URL on the proxy, keeping its path: `instance_url` becomes
 * the public URL itself, `https://login.salesforce.com/id/00D…/005…` becomes `<public>/id/00D…/005…`.
 * Content hosts (`picture`, `thumbnail`) are left alone: they are images, not API calls.
 */

/** The upstream-relative paths whose successful JSON answers are rewritten. */
export const OAUTH_URL_PATHS: ReadonlySet<string> = new Set(['/services/oauth2/token', '/services/oauth2/userinfo']);

/** Top-level fields holding one URL on the org or its login host. */
const URL_FIELDS = ['id', 'sub', 'profile'];
const ORIGIN = /^https?:\/\/[^/?#\s]+/i;

export interface RewrittenOAuth {
  readonly body: string;
  /** The origin `instance_url` named before it was rewritten, or null when the answer had none. */
  readonly instanceOrigin: string | null;
}

/**
 * The answer with every org URL moved onto `publicUrl` (an absolute URL without trailing "/"), or
 * null when `text` is not a JSON object (an error page, say), which then passes on unchanged.
 */
export function rewriteOAuthUrls(text: string, publicUrl: string): RewrittenOAuth | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(doc)) return null;
  let instanceOrigin: string | null = null;
  const instance = doc['instance_url'];
  if (typeof instance === 'string') {
    instanceOrigin = ORIGIN.exec(instance)?.[0].toLowerCase() ?? null;
    doc['instance_url'] = publicUrl;
  }
  for (const field of URL_FIELDS) doc[field] = onto(doc[field], publicUrl);
  const urls = doc['urls'];
  if (isObject(urls)) for (const name of Object.keys(urls)) urls[name] = onto(urls[name], publicUrl);
  return { body: JSON.stringify(doc), instanceOrigin };
}

/** A URL's origin replaced by `publicUrl`, its path (and any `{version}` template) kept; anything else as it is. */
function onto(value: unknown, publicUrl: string): unknown {
  if (typeof value !== 'string') return value;
  const origin = ORIGIN.exec(value);
  if (origin === null) return value;
  const rest = value.slice(origin[0].length);
  return rest === '' || rest === '/' ? publicUrl : publicUrl + rest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
