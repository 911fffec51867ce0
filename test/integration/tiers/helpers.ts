import type { SqlDatabase } from '../../../src/db/sql.js';

/** The database with every statement text recorded, to count round trips. */
export function recording(db: SqlDatabase): { db: SqlDatabase; statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    db: {
      kind: db.kind,
      query: (text, params) => {
        statements.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
        return db.query(text, params);
      },
      withClient: (fn) => db.withClient(fn),
      poolStats: () => db.poolStats(),
      close: () => db.close(),
    },
  };
}


/** The stored hit_count of a row. */
export async function hitCount(db: SqlDatabase, key: string): Promise<string | undefined> {
  return (await db.query<{ hit_count: string }>('SELECT hit_count FROM api_cache WHERE cache_key = $1', [key])).rows[0]?.hit_count;
}
