// Timestamps go in as epoch ms through to_timestamp(float8), which rounds to the microsecond, and
// come out as epoch ms through extract(epoch) (numeric on PG 14+): exact to the millisecond.

/** SQL for a timestamptz from an epoch-ms parameter or expression, e.g. `timestampFromMs('$3')`. */
export const timestampFromMs = (expr: string): string => `to_timestamp(${expr}::float8 / 1000)`;

/** SQL for a timestamptz column as epoch ms. */
export const msFromTimestamp = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;
