/** Which scenarios (and parts of them) a run selects: a scenario number to 'all' or a set of part letters. */
export type Selection = Map<number, Set<string> | 'all'>;

/**
 * Parses BENCH_ONLY: scenario numbers separated by commas or spaces, each optionally followed by
 * part letters ("5", "5a", "5ad", "10"); unset or blank selects all `scenarios`. A number alone
 * wins over letters for the same scenario. Throws on anything else, naming the token.
 */
export function parseOnly(value: string | undefined, scenarios: number): Selection {
  const only: Selection = new Map();
  const tokens = (value ?? '').split(/[\s,]+/).filter((t) => t !== '');
  if (tokens.length === 0) {
    for (let n = 1; n <= scenarios; n++) only.set(n, 'all');
    return only;
  }
  for (const token of tokens) {
    const match = /^([1-9]\d?)([a-z]*)$/.exec(token.toLowerCase());
    if (match === null || Number(match[1]) > scenarios) throw new Error(`BENCH_ONLY: "${token}" is not a scenario (1-${scenarios}, parts like 5a)`);
    const n = Number(match[1]);
    const letters = match[2]!;
    const current = only.get(n);
    if (letters === '' || current === 'all') only.set(n, 'all');
    else only.set(n, new Set([...(current ?? []), ...letters]));
  }
  return only;
}
