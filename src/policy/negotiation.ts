/**
 * Request header values the proxy may normalise before keying and forwarding them (pure). A
 * normalised request is sent upstream as it is keyed, so every client merged into an entry gets
 * the answer to one exact request, and that answer is one each of them accepts.
 */

/**
 * The media type to ask the upstream for, given the client's `Accept` and the types the upstream
 * serves (the first is its default), per RFC 9110 §12.5.1: each served type takes the weight of
 * the most specific media range that matches it; the highest non-zero weight wins, ties go to the
 * served order. No `Accept` (or an empty one) accepts anything: the default. null when the header
 * selects none of the types, or says more than this function can read (quoted strings, media
 * range parameters other than `q`, a malformed weight, a range given twice): such a header is
 * keyed and forwarded unchanged.
 */
export function negotiateMediaType(accept: string | undefined, served: readonly string[]): string | null {
  if (served.length === 0) return null;
  if (accept === undefined || accept.trim() === '') return served[0]!;
  const ranges = parseAccept(accept);
  if (ranges === null) return null;
  let chosen: string | null = null;
  let best = 0;
  for (const type of served) {
    const weight = weightOf(type, ranges);
    if (weight > best) {
      best = weight;
      chosen = type;
    }
  }
  return chosen;
}

/**
 * The value a keyed request header is sent upstream with, and keyed by; undefined: not sent.
 * `Accept` is negotiated when the upstream declares its media types; `Accept-Language: *` accepts
 * every language, as its absence does (RFC 9110 §12.5.4), so it is sent as absent; an empty
 * value is sent as absent. Everything else goes as the client sent it.
 */
export function upstreamHeaderValue(name: string, value: string | undefined, mediaTypes: readonly string[]): string | undefined {
  if (name === 'accept' && mediaTypes.length > 0) return negotiateMediaType(value, mediaTypes) ?? value;
  const trimmed = value?.trim();
  if (trimmed === undefined || trimmed === '') return undefined;
  if (name === 'accept-language' && trimmed === '*') return undefined;
  return value;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** `type/subtype` (lower case) -> weight, or null when the header cannot be read with certainty. */
function parseAccept(accept: string): Map<string, number> | null {
  if (accept.includes('"')) return null;
  const ranges = new Map<string, number>();
  for (const element of accept.split(',')) {
    if (element.trim() === '') continue; // empty list elements are allowed (RFC 9110 §5.6.1)
    const [range, ...params] = element.split(';').map((part) => part.trim().toLowerCase());
    const slash = range!.indexOf('/');
    const type = range!.slice(0, slash);
    const subtype = range!.slice(slash + 1);
    if (slash === -1 || !TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) return null;
    let weight = 1;
    if (params.length > 1) return null;
    if (params.length === 1) {
      const match = /^q=(.*)$/.exec(params[0]!);
      if (match === null || !QVALUE.test(match[1]!)) return null;
      weight = Number(match[1]);
    }
    if (ranges.has(range!)) return null;
    ranges.set(range!, weight);
  }
  return ranges;
}

function weightOf(type: string, ranges: ReadonlyMap<string, number>): number {
  return ranges.get(type) ?? ranges.get(`${type.slice(0, type.indexOf('/'))}/*`) ?? ranges.get('*/*') ?? 0;
}
