/**
 * Secret query values are replaced before a URL reaches a log line, an audit row or a cache
 * entry's readable path (pure).
 *
 * A parameter is secret when its name, decoded, contains one of the words below in any case
 * (`oauth_token`, `X-Amz-Signature`, `jwt`, `access_token[]`, `a[token]`), or when it, or a name
 * inside its brackets, is on the configured list (`redactQueryParams`, e.g. `code`, `sid`).
 * Pairs are separated by `&` or `;`: some servers read `x=1;access_token=…` as two pairs.
 */

export const REDACTED = '[REDACTED]';

const SECRET_WORDS = /token|secret|signature|password|key|auth|jwt/i;
/** A name ends at "="; a value at the next "&" or ";" (so `a=b=c` is one value, redacted whole). */
const PAIR = /([^&;=]*)=([^&;]*)/g;
/** Decoding rounds for a name: `%2574oken` is `token` to a server that decodes twice. */
const MAX_DECODES = 3;

/** Whether a query parameter's value must not be kept in clear. */
export function isSecretParam(rawName: string, configured: ReadonlySet<string>): boolean {
  const name = decodedName(rawName).toLowerCase();
  if (SECRET_WORDS.test(name)) return true;
  if (configured.size === 0) return false;
  if (configured.has(name)) return true;
  // `sid[]`, `a[sid]`, `a[b][sid]`: every bracketed part is a name of its own.
  return name.includes('[') && name.split(/[[\]]/).some((part) => part !== '' && configured.has(part));
}

/** The raw query (without "?") with every secret parameter's value replaced by `[REDACTED]`. */
export function redactQuery(raw: string, configured: ReadonlySet<string>): string {
  if (!raw.includes('=')) return raw;
  return raw.replace(PAIR, (pair, name: string, value: string) => (value !== '' && isSecretParam(name, configured) ? `${name}=${REDACTED}` : pair));
}

/** A request target (`/path?query`) with its query redacted; the path is kept as it is. */
export function redactUrl(url: string, configured: ReadonlySet<string>): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q + 1)}${redactQuery(url.slice(q + 1), configured)}`;
}

function decodedName(raw: string): string {
  let name = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  for (let round = 0; round < MAX_DECODES && name.includes('%'); round++) {
    const next = decodeLeniently(name);
    if (next === name) break;
    name = next;
  }
  return name;
}

/** Percent-decodes what can be decoded; a stray "%" stays as it is. */
function decodeLeniently(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}
