import type { FastifyBaseLogger } from 'fastify';
import { FILL_LEASE_MS, FILL_POLL_MS, FillLeases } from '../cache/fill-lease.js';
import type { Config } from '../config/types.js';
import type { InvalidationBus } from '../invalidation/bus.js';
import { createRedisClient, type OwnedRedis } from '../redis/client.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';

/**
 * The process's one Redis connection (and its pub/sub twin) with its one breaker: the tier, fill
 * leases, the invalidation bus, caller rate limits and hook dedupe all use these. Fail-fast and
 * reconnecting by itself, so a dead Redis at start is not fatal.
 */
export function openRedis(url: string, config: Config, log: FastifyBaseLogger, now: () => number): OwnedRedis {
  const client = createRedisClient(url, { connectTimeoutMs: 2_000, name: 'sidecache', log });
  const subscriber = client.duplicate();
  return {
    client,
    subscriber,
    breaker: new CircuitBreaker(config.cache.breaker, now),
    close: () => {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Cross-instance single flight over that connection and its breaker, woken by the bus. */
export function openFillLeases(redis: OwnedRedis, bus: InvalidationBus | null, config: Config): FillLeases {
  return new FillLeases({
    client: redis.client,
    breaker: redis.breaker,
    bus,
    namespace: config.cache.namespace,
    timeoutMs: config.cache.redis.readTimeoutMs,
    leaseMs: FILL_LEASE_MS,
    pollMs: FILL_POLL_MS,
  });
}
