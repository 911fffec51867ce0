import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { SharedRedis } from '../redis/client.js';
import type { RateLimitConfig, UpstreamConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import { createRateLimiter, type RateLimiter } from '../resilience/rate-limiter.js';

interface UpstreamLimit {
  readonly config: RateLimitConfig;
  readonly limiter: RateLimiter;
}

/**
 * Caller rate limits per upstream: a token bucket per session, user or client IP, in Redis when
 * there is one (shared by every instance), else in memory. Subjects are hashed before they reach
 * Redis or memory, so a user id never appears in a key.
 */
export class CallerLimits {
  readonly #limits = new Map<string, UpstreamLimit>();

  constructor(options: {
    upstreams: readonly UpstreamConfig[];
    redis: SharedRedis | null;
    namespace: string;
    log: { warn(obj: object, msg: string): void };
  }) {
    let warned = false;
    for (const upstream of options.upstreams) {
      const config = upstream.rateLimit;
      if (config === null) continue;
      const limiter = createRateLimiter({
        redis: options.redis,
        namespace: options.namespace,
        name: upstream.name,
        capacity: config.capacity,
        refillPerSecond: config.refillPerSecond,
        maxSubjects: config.maxSubjects,
        timeoutMs: config.redisTimeoutMs,
        onFallback: (reason) => {
          if (warned) return;
          warned = true;
          options.log.warn({ reason }, 'rate limits fall back to per-instance memory buckets while Redis is unavailable');
        },
      });
      this.#limits.set(upstream.name, { config, limiter });
    }
  }

  /** Whether the upstream limits callers, and whether cache hits are exempt. */
  policy(upstream: string): { limited: boolean; exemptHits: boolean } {
    const limit = this.#limits.get(upstream);
    return { limited: limit !== undefined, exemptHits: limit?.config.exemptHits ?? false };
  }

  /** Takes one token for the request's caller; throws 429 `rate_limited` (with Retry-After) when none is left. */
  async take(upstream: string, request: FastifyRequest): Promise<void> {
    const limit = this.#limits.get(upstream);
    if (limit === undefined) return;
    const decision = await limit.limiter.take(subjectOf(limit.config, request));
    if (!decision.allowed) {
      throw new SidecacheError('rate_limited', `too many requests to "${upstream}"; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`, {
        retryAfterMs: decision.retryAfterMs,
      });
    }
  }
}

/** The bucket a request draws from: its session, user or IP; a request without that identity falls back to its IP. */
function subjectOf(config: RateLimitConfig, request: FastifyRequest): string {
  const record = request.sidecache;
  if (config.by === 'session' && record?.sessionId != null) return `s:${record.sessionId}`;
  if (config.by === 'user' && record?.identity?.userIdentifier != null) return `u:${digest(record.identity.userIdentifier)}`;
  return `i:${digest(request.ip)}`;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
