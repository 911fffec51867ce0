/**
 * Reads the Prometheus text format `/metrics` serves, enough for the overview: samples with
 * labels, sums over label subsets, and histogram quantiles estimated like `histogram_quantile`.
 * Pure.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(LABEL)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = match[3] === '+Inf' ? Infinity : Number(match[3]);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** Sum of `name` over samples whose labels include `where`. */
export function total(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const sample of samples) if (sample.name === name && matches(sample, where)) sum += sample.value;
  return sum;
}

/** Sums of `name` grouped by one label's value. */
export function totalsBy(samples: readonly Sample[], name: string, label: string, where: Record<string, string> = {}): Map<string, number> {
  const out = new Map<string, number>();
  for (const sample of samples) {
    if (sample.name !== name || !matches(sample, where)) continue;
    const key = sample.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + sample.value);
  }
  return out;
}

/**
 * The q-quantile of histogram `name` (the `_bucket` series) over samples matching `where`, in
 * the histogram's unit; null when it has no observations. Linear inside a bucket.
 */
export function quantile(samples: readonly Sample[], name: string, q: number, where: Record<string, string> = {}): number | null {
  const buckets = new Map<number, number>();
  for (const sample of samples) {
    if (sample.name !== `${name}_bucket` || !matches(sample, where)) continue;
    const le = sample.labels['le'] === '+Inf' ? Infinity : Number(sample.labels['le']);
    buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  if (count === 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of sorted) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket === 0 ? le : lower + (le - lower) * ((rank - below) / inBucket);
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

function matches(sample: Sample, where: Record<string, string>): boolean {
  for (const key in where) if (sample.labels[key] !== where[key]) return false;
  return true;
}
