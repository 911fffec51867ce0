import { cacheControlList, headerValue } from '../http/fields.js';

/** What the client asked of the cache (RFC 9111 §5.2.1, with `Pragma` as the §5.4 fallback). */
export interface ClientDirectives {
  /** `no-cache` (or `max-age=0`, or `Pragma: no-cache` without Cache-Control): revalidate before use. */
  readonly noCache: boolean;
  readonly noStore: boolean;
  /** `max-age`: the oldest response the client accepts, in ms (null: any). */
  readonly maxAgeMs: number | null;
  /** `min-fresh`: the response must stay fresh at least this long, in ms. */
  readonly minFreshMs: number;
  /** `max-stale`: stale responses accepted up to this staleness in ms (Infinity without a value; null: none). */
  readonly maxStaleMs: number | null;
  readonly onlyIfCached: boolean;
}

const NONE: ClientDirectives = Object.freeze({ noCache: false, noStore: false, maxAgeMs: null, minFreshMs: 0, maxStaleMs: null, onlyIfCached: false });

export function clientDirectives(headers: Record<string, string | string[] | undefined>): ClientDirectives {
  const cacheControl = headerValue(headers, 'cache-control');
  if (cacheControl === undefined) {
    const pragma = headerValue(headers, 'pragma');
    return pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma) ? { ...NONE, noCache: true } : NONE;
  }
  let noCache = false;
  let noStore = false;
  let maxAgeMs: number | null = null;
  let minFreshMs = 0;
  let maxStaleMs: number | null = null;
  let onlyIfCached = false;
  for (const [name, value] of cacheControlList(cacheControl)) {
    if (name === 'no-cache') noCache = true;
    else if (name === 'no-store') noStore = true;
    else if (name === 'only-if-cached') onlyIfCached = true;
    else if (name === 'max-age') {
      // An unparseable max-age asks for nothing stored: treat it as 0 (the safe reading).
      maxAgeMs = Math.min(maxAgeMs ?? Infinity, delta(value) ?? 0);
      if (maxAgeMs === 0) noCache = true;
    } else if (name === 'min-fresh') minFreshMs = Math.max(minFreshMs, delta(value) ?? 0);
    else if (name === 'max-stale') maxStaleMs = value === '' ? Infinity : Math.max(maxStaleMs ?? 0, delta(value) ?? 0);
  }
  return { noCache, noStore, maxAgeMs, minFreshMs, maxStaleMs, onlyIfCached };
}

function delta(value: string): number | null {
  return /^\d+$/.test(value) ? Math.min(Number(value), 2_147_483_648) * 1000 : null;
}
