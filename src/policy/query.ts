/** Query-string handling shared by rule matching and cache keys (pure). */

export type QueryPairs = ReadonlyArray<readonly [string, string]>;

/** Parses a raw query (`a=1&b=x+y`) into decoded pairs, keeping order and repeats. */
export function parseQuery(raw: string): QueryPairs {
  if (raw === '') return [];
  const pairs: Array<readonly [string, string]> = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(part.slice(eq + 1));
    pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Canonical query for keying: every pair decoded (`+` and `%20` alike) and re-encoded one way,
 * sorted by name; repeated names keep their relative order, since `a=1&a=2` and `a=2&a=1`
 * can mean different things upstream.
 */
export function canonicalQuery(pairs: QueryPairs): string {
  const indexed = pairs.map((pair, index) => ({ pair, index }));
  indexed.sort((x, y) => (x.pair[0] < y.pair[0] ? -1 : x.pair[0] > y.pair[0] ? 1 : x.index - y.index));
  return indexed.map(({ pair }) => `${encodeURIComponent(pair[0])}=${encodeURIComponent(pair[1])}`).join('&');
}

/** First value of a parameter, or undefined. */
export function queryValue(pairs: QueryPairs, name: string): string | undefined {
  for (const [n, v] of pairs) if (n === name) return v;
  return undefined;
}

/** The raw query with the values of the named parameters replaced by `[REDACTED]`. */
export function redactQuery(raw: string, secretNames: ReadonlySet<string>): string {
  if (raw === '') return raw;
  return raw
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq === -1) return part;
      return secretNames.has(decodeComponent(part.slice(0, eq)).toLowerCase()) ? `${part.slice(0, eq)}=[REDACTED]` : part;
    })
    .join('&');
}

function decodeComponent(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
