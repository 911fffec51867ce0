import type { FastifyBaseLogger } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { ManagedDatabase } from '../db/lifecycle.js';
import { SEALED_ROW_FORMAT } from './tiers/postgres-sealed.js';
import { waitForReady } from '../redis/client.js';
import { redisIndexKey } from './tiers/redis-keys.js';

/** How long the check waits for Redis to come up; after that the store is not reported. */
const STORE_WAIT_MS = 60_000;

/**
 * Started without an encryption key: says once, as soon as each store is reachable, whether it
 * holds sealed entries, which this instance cannot open and so treats as misses. Best effort:
 * a store that cannot be asked is not reported.
 */
export async function reportSealedWithoutKey(parts: { redis: Redis | Cluster | null; namespace: string; database: ManagedDatabase | null; log: FastifyBaseLogger }): Promise<void> {
  const { redis, namespace, database, log } = parts;
  const say = (store: string): void =>
    log.warn({ store }, `${store} holds entries sealed with an encryption key, but CACHE_ENCRYPTION_KEY is not set: they are treated as misses (set the key to read them)`);
  const checks: Array<Promise<void>> = [];
  if (redis !== null) {
    checks.push(
      (async () => {
        await waitForReady(redis, STORE_WAIT_MS, true);
        if ((await redis.exists(redisIndexKey(namespace, true))) === 1) say('redis');
      })(),
    );
  }
  if (database !== null) {
    checks.push(
      (async () => {
        await database.whenReady;
        const { rows } = await database.db.query('SELECT 1 FROM api_cache WHERE format = $1 LIMIT 1', [SEALED_ROW_FORMAT]);
        if (rows.length > 0) say('postgres');
      })(),
    );
  }
  await Promise.all(checks.map((check) => check.catch(() => undefined)));
}
