import { runInProcessProbe } from '../lib/servers.js';
import type { Row } from '../lib/table.js';

/** What bench/servers/hit-costs.ts prints. */
export interface HitCostsResult {
  readonly iterations: number;
  /** ns per lane hit under each configuration, in the order each adds one feature. */
  readonly laneNs: Record<string, number>;
  readonly auditFlushNsPerRow: { readonly hit: number; readonly event: number };
}

const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;

/**
 * Scenario 11: µs per memory hit that each feature adds on the hit lane, measured in-process (no
 * socket) in a child pinned to the server core, one configuration per feature; and what the audit
 * writer spends per row when it flushes (normalise + COPY-encode), off the response path.
 */
export async function hitCosts(): Promise<{ rows: Row[]; result: HitCostsResult }> {
  const result = (await runInProcessProbe('hit-costs.ts', 180_000)) as unknown as HitCostsResult;
  const s = '11 hit costs';
  const rows: Row[] = [];
  let previous: number | null = null;
  for (const [feature, ns] of Object.entries(result.laneNs)) {
    rows.push({
      scenario: s,
      metric: previous === null ? `lane per hit: ${feature} (route + key memo, read decision, head, metrics)` : `+ ${feature}`,
      value: previous === null ? us(ns) : `${us(ns - previous)} (total ${us(ns)})`,
    });
    previous = ns;
  }
  rows.push(
    { scenario: s, metric: 'audit flush per lane hit row, off the response path (normalise + COPY bytes)', value: us(result.auditFlushNsPerRow.hit) },
    { scenario: s, metric: 'audit flush per plain event row (any other request)', value: us(result.auditFlushNsPerRow.event) },
  );
  return { rows, result };
}
