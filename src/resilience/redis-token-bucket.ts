import type { Cluster, Redis } from 'ioredis';
import { assertBucketOptions, assertCost, type RateLimitDecision, type RateLimiter, type TokenBucketOptions } from './token-bucket.js';

export interface RedisTokenBucketOptions extends TokenBucketOptions {
  /** Owned by the caller, who also closes it. */
  readonly client: Redis | Cluster;
  /** `cache.namespace`: keys are `sidecache:<namespace>:rl:<name>:<subject>`. */
  readonly namespace: string;
  /** Which limit this is (the upstream name), so two limits never share a bucket. */
  readonly name: string;
  /**
   * The clock the script refills by. Default: the Redis server's `TIME`, so every sidecache
   * instance measures elapsed time on one clock. Tests pass a fake one for exact refill math.
   */
  readonly now?: () => number;
}

const COMMAND = 'sidecacheTakeTokens';
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SUBJECT_LENGTH = 256;

/*
 * One bucket = one hash {t: tokens, ts: ms of last update}, read, refilled, spent and written in a
 * single script, so concurrent takes from any number of instances serialise on the key.
 *
 * Clock: the server's TIME unless the caller passes one (ARGV[4]). With per-instance clocks, an
 * instance running ahead would refill buckets early and one running behind would see time go
 * backwards; the server clock is one clock for everyone, and on Redis Cluster a key always lives
 * on one shard, so its bucket only ever sees that shard's clock. (Calling TIME in a script is fine
 * since Redis 5's effects replication, the only mode since Redis 7.) A clock that does step back
 * — a failover to a replica with a skewed clock — refills nothing rather than going negative.
 *
 * Expiry: PEXPIRE to the moment the bucket would be full again. A missing key reads as a full
 * bucket, so expiry changes no decision while idle subjects cost Redis no memory.
 */
const SCRIPT = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(capacity, tokens + elapsed * per_ms)
end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  -- minus 1e-6: float noise must not add a millisecond (as ceilMs in token-bucket.ts)
  retry = math.max(1, math.ceil((cost - tokens) / per_ms - 0.000001))
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
local ttl = math.ceil((capacity - tokens) / per_ms)
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, string.format('%.17g', tokens), retry}
`;

type TakeCommand = (key: string, capacity: number, perMs: number, cost: number, now: string) => Promise<[number, string, number]>;

/** Token buckets in Redis, shared by every instance; one atomic script call per take. */
export class RedisTokenBucket implements RateLimiter {
  readonly #client: Redis | Cluster;
  readonly #options: TokenBucketOptions;
  readonly #prefix: string;
  readonly #now: (() => number) | undefined;

  constructor(options: RedisTokenBucketOptions) {
    assertBucketOptions('RedisTokenBucket', options);
    if (!NAME_PATTERN.test(options.namespace)) throw new TypeError(`RedisTokenBucket: namespace must be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(options.namespace)}`);
    if (!NAME_PATTERN.test(options.name)) throw new TypeError(`RedisTokenBucket: name must be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(options.name)}`);
    this.#client = options.client;
    this.#options = { capacity: options.capacity, refillPerSecond: options.refillPerSecond };
    this.#prefix = `sidecache:${options.namespace}:rl:${options.name}:`;
    this.#now = options.now;
    // Defined once per client: several limiters (one per upstream) share one connection.
    if (typeof (this.#client as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
      this.#client.defineCommand(COMMAND, { numberOfKeys: 1, lua: SCRIPT });
    }
  }

  /** The Redis key of a subject's bucket. */
  key(subject: string): string {
    return this.#prefix + subject;
  }

  async take(subject: string, cost = 1): Promise<RateLimitDecision> {
    assertCost(cost, this.#options.capacity);
    if (subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) {
      throw new RangeError(`RedisTokenBucket: subject must be 1-${MAX_SUBJECT_LENGTH} characters (pass a hash), got ${subject.length}`);
    }
    const take = (this.#client as unknown as Record<string, TakeCommand>)[COMMAND]!.bind(this.#client);
    const now = this.#now === undefined ? '' : String(this.#now());
    const [allowed, tokens, retry] = await take(this.key(subject), this.#options.capacity, this.#options.refillPerSecond / 1000, cost, now);
    return { allowed: allowed === 1, remaining: Math.floor(Number(tokens)), retryAfterMs: Number(retry) };
  }
}
