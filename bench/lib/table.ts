/** One line of the final report. */
export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly value: string;
  readonly target?: string;
  /** true PASS, false MISS, undefined informational. */
  readonly pass?: boolean;
}

/** Aligned plain-text table with a header rule. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['scenario', 'metric', 'value', 'target', 'result'];
  const cells = rows.map((r) => [r.scenario, r.metric, r.value, r.target ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const ms = (value: number): string => `${value.toFixed(3)} ms`;
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const int = (value: number): string => Math.round(value).toLocaleString('en-US');
