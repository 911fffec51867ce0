import { runInProcessProbe } from '../lib/servers.js';
import type { Row } from '../lib/table.js';

/** What bench/servers/seal-costs.ts prints. */
export interface SealCostsResult {
  readonly iterations: number;
  readonly entryBytes: number;
  readonly sealedBytes: number;
  readonly encodePlainUs: number;
  readonly encodeSealedUs: number;
  readonly decodePlainUs: number;
  readonly decodeSealedUs: number;
}

const us = (n: number) => `${n.toFixed(2)} µs`;

/**
 * Scenario 13: what encryption at rest adds per Redis or Postgres write (seal) and hit (open) of a
 * 2 KB entry, in-process next to the plain envelope work; the tier round trip is unchanged.
 */
export async function sealCosts(): Promise<{ rows: Row[]; result: SealCostsResult }> {
  const result = (await runInProcessProbe('seal-costs.ts', 120_000)) as unknown as SealCostsResult;
  const s = '13 seal costs';
  return {
    result,
    rows: [
      { scenario: s, metric: `write, 2 KB entry (${result.entryBytes} B plain, ${result.sealedBytes} B sealed): encode / encode + seal`, value: `${us(result.encodePlainUs)} / ${us(result.encodeSealedUs)} (+${us(result.encodeSealedUs - result.encodePlainUs)})` },
      { scenario: s, metric: 'shared-tier hit, 2 KB entry: decode / open + decode', value: `${us(result.decodePlainUs)} / ${us(result.decodeSealedUs)} (+${us(result.decodeSealedUs - result.decodePlainUs)})` },
    ],
  };
}
