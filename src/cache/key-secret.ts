import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ManagedDatabase } from '../db/lifecycle.js';
import type { SqlDatabase } from '../db/sql.js';

/** The secret credentials are hashed under into cache keys and session ids. */
export interface KeySecret {
  current(): string;
  /** Called when the secret changes: the persisted one was read after a late database start. */
  onChange(listener: (secret: string) => void): void;
}

/**
 * The configured secret, else the one persisted in the database. If the database is not ready
 * yet, a random secret serves until it is; then every instance switches to the shared one.
 */
export async function openKeySecret(configured: string | null, database: ManagedDatabase | null, log: FastifyBaseLogger): Promise<KeySecret> {
  const db = database?.db ?? null;
  let secret = configured ?? (await persistedKeySecret(db, database?.ready() ?? false, log));
  const listeners: Array<(secret: string) => void> = [];
  if (configured === null && database !== null && !database.ready()) {
    void database.whenReady.then(async () => {
      const persisted = await persistedKeySecret(db, true, log);
      if (persisted === secret) return;
      secret = persisted;
      log.info('database is reachable: switched to the persisted key secret');
      for (const listener of listeners) listener(persisted);
    });
  }
  return { current: () => secret, onChange: (listener) => listeners.push(listener) };
}

/**
 * The key secret stored in `sidecache_meta`, created on first start, so keys survive restarts and
 * match across instances sharing the database. Without a database: random per process.
 */
async function persistedKeySecret(db: SqlDatabase | null, migrated: boolean, log: FastifyBaseLogger): Promise<string> {
  if (db !== null && migrated) {
    try {
      await db.query(`INSERT INTO sidecache_meta (name, value) VALUES ('key_secret', $1) ON CONFLICT (name) DO NOTHING`, [
        randomBytes(32).toString('hex'),
      ]);
      const { rows } = await db.query<{ value: string }>(`SELECT value FROM sidecache_meta WHERE name = 'key_secret'`);
      if (rows[0] !== undefined) return rows[0].value;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not read the persisted key secret');
    }
  }
  log.warn('cache.keySecret (CACHE_KEY_SECRET) is not set and no database holds one: using a random per-process secret, so cache keys change on restart and differ between instances');
  return randomBytes(32).toString('hex');
}
