import type { SqlClient } from './sql.js';

/** Batches one clean-up run deletes at most, so it never holds the database for long. */
export const MAX_DELETE_BATCHES = 20;

/**
 * Runs a `DELETE … LIMIT $2`-style statement (params: `[cutoff, batchSize]`) until a batch comes
 * back short or `MAX_DELETE_BATCHES` ran; resolves the rows deleted.
 */
export async function deleteInBatches(db: SqlClient, sql: string, cutoff: number, batchSize: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < MAX_DELETE_BATCHES; batch++) {
    const { rowCount } = await db.query(sql, [cutoff, batchSize]);
    deleted += rowCount;
    if (rowCount < batchSize) break;
  }
  return deleted;
}
