import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/types.js';
import type { ManagedDatabase } from '../db/lifecycle.js';
import type { SqlDatabase } from '../db/sql.js';
import { Coherence } from '../invalidation/coherence.js';
import type { InvalidationBus } from '../invalidation/bus.js';
import type { OwnedRedis } from '../redis/client.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
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
  /** Envelopes that did not open (wrong or missing key, tampered), per tier and reason. */
  readonly sealFailures: SealFailures;
  countHit(key: string): void;
  health(): Record<string, TierHealth>;
  close(): Promise<void>;
}

const WRITE_CONCURRENCY = 8;

/**
 * Builds the memory tier and, over the database and the Redis connection the app opened, the
 * Postgres and Redis tiers, and the coherence that keeps other instances' memory tiers current
 * over the app's bus; a dead Redis or Postgres is never fatal.
 */
export function openCacheStorage(
  config: Config,
  options: {
    log: FastifyBaseLogger;
    now: () => number;
    database: ManagedDatabase | null;
    redis: OwnedRedis | null;
    bus: InvalidationBus | null;
    isCurrent?: (entry: CacheEntry) => boolean;
  },
): CacheStorage {
  const { log, now, database, bus } = options;
  const { cache } = config;
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

  // The Redis tier on the app's one connection and breaker.
  let redis: GuardedTier | null = null;
  if (options.redis !== null) {
    const { client, breaker } = options.redis;
    const codec = new EntryCodec('redis', ring, sealFailures.sink);
    redis = new GuardedTier(new RedisTier({ client, namespace: cache.namespace, compressAboveBytes: cache.redis.compressAboveBytes, now, codec }), {
      readTimeoutMs: cache.redis.readTimeoutMs,
      breaker,
      queue: new WriteQueue({ capacity: cache.redis.writeQueueSize, concurrency: WRITE_CONCURRENCY }),
      log,
      now,
    });
  }
  const coherence = bus === null ? null : new Coherence(bus, memory);

  if (ring === null) void reportSealedWithoutKey({ redis: options.redis?.client ?? null, namespace: cache.namespace, database, log });
  const lower = [redis, postgres].filter((tier): tier is GuardedTier => tier !== null);
  const stack = new TierStack({
    memory,
    lower,
    now,
    onStored: coherence === null ? undefined : (entry) => coherence.stored(entry.key, entry.storedAt),
    isCurrent: options.isCurrent,
  });

  return {
    stack,
    memory,
    redis,
    postgres,
    db,
    coherence,
    sealFailures,
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
      await coherence?.close().catch(() => undefined);
    },
  };
}
