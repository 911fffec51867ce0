import { Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, Opt, PositiveInt, Section, strict } from './kit.js';

/**
 * Where the adaptive limit starts for a `concurrency` key the file leaves out. Not a schema
 * default: the normaliser fits it to the upstream's pool (max at most `pool.connections`, min at
 * most max, initial from min to max), so it must know which keys the file set.
 */
export const CONCURRENCY_START = { initial: 32, min: 4, max: 256 } as const;

const Slots = () => Opt(PositiveInt(undefined, 1024));

/** `protection.concurrency`: the adaptive limit on calls in flight. */
export const ConcurrencySchema = Type.Object(
  {
    initial: Slots(),
    min: Slots(),
    max: Slots(),
    latencyTolerance: Type.Number({ exclusiveMinimum: 1, maximum: 100, errorMessage: 'must be a number above 1 and at most 100', default: 2 }),
  },
  strict,
);

const BreakerSchema = Section({
  window: Duration('10s'),
  bucket: Duration('1s'),
  minimumCalls: PositiveInt(20, 100_000),
  failureRate: Type.Number({ exclusiveMinimum: 0, maximum: 1, errorMessage: 'must be a number above 0 and at most 1', default: 0.5 }),
  openFor: Duration('15s'),
  halfOpenProbes: PositiveInt(3, 1000),
});

const protection = {
  // Unset keys fit pool.connections (CONCURRENCY_START).
  concurrency: Opt(ConcurrencySchema),
  // Deprecated: a fixed limit, i.e. concurrency { initial, min and max } all N (the loader warns).
  maxConcurrent: Opt(Type.Integer({ minimum: 1, maximum: 1024, errorMessage: 'must be an integer from 1 to 1024' })),
  maxQueue: Type.Integer({ minimum: 0, maximum: 1_000_000, errorMessage: 'must be an integer from 0 to 1000000', default: 10_000 }),
  queueTimeout: Duration('10s'),
  breaker: BreakerSchema,
  retryAfterMax: Duration('10m'),
  retryAfterDefault: Duration('30s'),
  retryOnReset: Bool(true),
  retryJitter: Duration('100ms'),
};

/** `defaults.protection`: the built-in values every upstream inherits. */
export const ProtectionSchema = Section(protection);

/** `upstreams[].protection`: any key left out is inherited from `defaults.protection`. */
export const OwnProtectionSchema = Type.Partial(
  Type.Object({ ...protection, concurrency: Type.Partial(ConcurrencySchema), breaker: Type.Partial(BreakerSchema) }, strict),
);

/** `upstreams[].rateLimit`: a token bucket per caller (absent, or enabled: false: none). */
export const RateLimitSchema = Type.Object(
  {
    enabled: Bool(true),
    by: Enum(['session', 'user', 'ip'] as const, 'session'),
    capacity: PositiveInt(120, 1_000_000),
    refillPerSecond: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, errorMessage: 'must be a number above 0', default: 2 }),
    exemptHits: Bool(true),
    maxSubjects: PositiveInt(100_000),
    redisTimeout: Duration('50ms'),
  },
  strict,
);
