import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/types.js';
import type { ManagedDatabase } from '../db/lifecycle.js';
import type { SqlDatabase } from '../db/sql.js';
import { Coherence } from '../invalidation/coherence.js';
import { InvalidationBus } from '../invalidation/bus.js';
import type { OwnedRedis } from '../redis/client.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { FillLeases } from './fill-lease.js';
import { KeyRing } from './seal.js';
import { EntryCodec, SealFailures } from './sealed-codec.js';
import { reportSealedWithoutKey } from './sealed-startup.js';
import type { CacheEntry } from './entry.js';
import { GuardedTier, type TierHealth } from './guarded-tier.js';
import { TierStack } from './stack.js';
import { MemoryTier } from './tiers/memory.js';
import { PostgresTier } from './tiers/postgres.js';
import { PostgresUpkeep } from './tiers/postgres-upkeep.js';
import { RedisTier } from './tiers/redis.js';
import { WriteQueue } from './write-queue.js';

/** The cache tiers of one instance and the connections behind them. */
export interface CacheStorage {
  readonly stack: TierStack;
  readonly memory: MemoryTier | null;
  readonly redis: GuardedTier | null;
  readonly postgres: GuardedTier | null;
  /** The database (Postgres or embedded PGlite) once migrated; shared with audit and sessions. */
  readonly db: SqlDatabase | null;
  readonly coherence: Coherence | null;
  /** The Redis bus, when Redis is configured. */
  readonly bus: InvalidationBus | null;
  /** Cross-instance single flight, when Redis is configured. */
  readonly fillLeases: FillLeases | null;
  readonly instanceId: string;
  /** Envelopes that did not open (wrong or missing key, tampered), per tier and reason. */
  readonly sealFailures: SealFailures;
  /** Secret for hashing credentials into keys: configured, else persisted in the database. */
  keySecret(): string;
  /** Called when the secret changes: the persisted one was read after a late database start. */
  onKeySecretChange(listener: (secret: string) => void): void;
  countHit(key: string): void;
  health(): Record<string, TierHealth>;
  close(): Promise<void>;
}

const WRITE_CONCURRENCY = 8;
/** A fill lease outlives a slow upstream call; a crashed holder delays the others this long at most. */
const FILL_LEASE_MS = 10_000;
const FILL_POLL_MS = 50;

/**
 * Builds the memory tier and, over the database and the Redis connection the app opened, the
 * Postgres and Redis tiers, the invalidation bus and fill leases; a dead Redis or Postgres is never fatal.
 */
export async function openCacheStorage(
  config: Config,
  options: { log: FastifyBaseLogger; now: () => number; database: ManagedDatabase | null; redis: OwnedRedis | null; isCurrent?: (entry: CacheEntry) => boolean },
): Promise<CacheStorage> {
  const { log, now, database } = options;
  const { cache } = config;
  const instanceId = randomUUID();
  const closers: Array<() => Promise<void>> = [];
  const memory = cache.memory.enabled ? new MemoryTier(cache.memory, now) : null;
  // The config checked the keys parse (config/encryption-keys.ts); only key ids are ever logged.
  const ring = cache.encryption.key === null ? null : KeyRing.parse(cache.encryption.key, cache.encryption.keys);
  const sealFailures = new SealFailures((fields, msg) => log.warn(fields, msg));
  if (ring !== null) log.info({ keyId: ring.currentId, readableKeyIds: ring.ids }, 'encryption at rest: Redis and Postgres entries are sealed with AES-256-GCM');

  // Postgres (or PGlite), usable once the database's migrations are applied.
  const db: SqlDatabase | null = database?.db ?? null;
  let postgresUpkeep: PostgresUpkeep | null = null;
  let postgres: GuardedTier | null = null;
  if (cache.postgres.enabled && database !== null) {
    const opened = database.db;
    postgresUpkeep = new PostgresUpkeep({
      db: opened,
      now,
      hitFlushIntervalMs: cache.postgres.hitFlushIntervalMs,
      sweepIntervalMs: cache.postgres.sweepIntervalMs,
      sweepBatchSize: cache.postgres.sweepBatchSize,
      log: (obj, msg) => log.warn(obj, msg),
    });
    postgres = new GuardedTier(new PostgresTier({ db: opened, now, codec: new EntryCodec('postgres', ring, sealFailures.sink) }), {
      readTimeoutMs: cache.postgres.readTimeoutMs,
      breaker: new CircuitBreaker(cache.breaker, now),
      queue: new WriteQueue({ capacity: cache.postgres.writeQueueSize, concurrency: WRITE_CONCURRENCY }),
      log,
      isReady: database.ready,
      now,
    });
  }

  // The Redis tier on the app's one connection and breaker, and the bus that keeps other instances' memory tiers coherent.
  let redis: GuardedTier | null = null;
  let coherence: Coherence | null = null;
  let busRef: InvalidationBus | null = null;
  let fillLeases: FillLeases | null = null;
  if (options.redis !== null) {
    const { client, breaker, subscriber } = options.redis;
    const codec = new EntryCodec('redis', ring, sealFailures.sink);
    redis = new GuardedTier(new RedisTier({ client, namespace: cache.namespace, compressAboveBytes: cache.redis.compressAboveBytes, now, codec }), {
      readTimeoutMs: cache.redis.readTimeoutMs,
      breaker,
      queue: new WriteQueue({ capacity: cache.redis.writeQueueSize, concurrency: WRITE_CONCURRENCY }),
      log,
      now,
    });
    const bus = new InvalidationBus({ publisher: client, subscriber, namespace: cache.namespace, instanceId, log: (obj, msg) => log.warn(obj, msg) });
    coherence = new Coherence(bus, memory);
    busRef = bus;
    fillLeases = new FillLeases({
      client,
      namespace: cache.namespace,
      leaseMs: FILL_LEASE_MS,
      timeoutMs: cache.redis.readTimeoutMs,
      pollMs: FILL_POLL_MS,
      bus,
      breaker,
    });
    await bus.start().catch((err: Error) => log.warn({ err: err.message }, 'redis bus not subscribed yet; will subscribe when Redis is reachable'));
    const coherenceRef = coherence;
    closers.unshift(async () => {
      await coherenceRef.close();
      await bus.close();
    });
  }

  // Without a configured secret the database keeps one. If the database is not ready yet, a
  // random secret serves until it is; then every instance switches to the shared one.
  let keySecret = cache.keySecret ?? (await persistedKeySecret(db, database?.ready() ?? false, log));
  const secretListeners: Array<(secret: string) => void> = [];
  if (cache.keySecret === null && database !== null && !database.ready()) {
    void database.whenReady.then(async () => {
      const persisted = await persistedKeySecret(db, true, log);
      if (persisted === keySecret) return;
      keySecret = persisted;
      log.info('database is reachable: switched to the persisted key secret');
      for (const listener of secretListeners) listener(persisted);
    });
  }
  if (ring === null) void reportSealedWithoutKey({ redis: options.redis?.client ?? null, namespace: cache.namespace, database, log });
  const lower = [redis, postgres].filter((tier): tier is GuardedTier => tier !== null);
  const coherenceRef = coherence;
  const stack = new TierStack({
    memory,
    lower,
    now,
    onStored: coherenceRef === null ? undefined : (entry) => coherenceRef.stored(entry.key),
    isCurrent: options.isCurrent,
  });

  return {
    stack,
    memory,
    redis,
    postgres,
    db,
    coherence,
    bus: busRef,
    fillLeases,
    instanceId,
    sealFailures,
    keySecret: () => keySecret,
    onKeySecretChange: (listener) => secretListeners.push(listener),
    countHit: (key) => postgresUpkeep?.countHit(key),
    health: () => {
      const health: Record<string, TierHealth> = {};
      if (memory !== null) health['memory'] = 'up';
      if (redis !== null) health['redis'] = redis.health();
      if (postgres !== null) health['postgres'] = postgres.health();
      return health;
    },
    async close() {
      await postgresUpkeep?.close();
      await stack.close();
      for (const close of closers) await close().catch(() => undefined);
    },
  };
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
