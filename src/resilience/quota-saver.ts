import type { QuotaSaverConfig } from '../config/types.js';

/** The last quota an upstream reported, merged over its responses (see `UpstreamQuota`). */
export interface LastQuota {
  readonly used: number | null;
  readonly limit: number | null;
  readonly nearLimit: boolean;
  /** Epoch ms the upstream said its window resets (Jira), or null. */
  readonly resetAt: number | null;
  /** Epoch ms of the response that reported it. */
  readonly reportedAt: number;
}

/** Why quota-saver mode holds: usage at or above the threshold, or the upstream saying it is near its limit. */
export type SaverReason = 'usage' | 'near_limit';

export type SaverVerdict = { readonly saving: false } | { readonly saving: true; readonly reason: SaverReason; readonly until: number };

const OFF: SaverVerdict = Object.freeze({ saving: false });
const DAY_MS = 86_400_000;

/** The first UTC midnight after `ms`. */
export function nextUtcMidnight(ms: number): number {
  return (Math.floor(ms / DAY_MS) + 1) * DAY_MS;
}

/**
 * When a reading stops counting: the reset time the upstream gave (Jira's X-RateLimit-Reset),
 * else the end of the UTC day it was reported in (Salesforce's daily allowance).
 */
export function quotaWindowEnd(last: LastQuota): number {
  return last.resetAt !== null && last.resetAt > last.reportedAt ? last.resetAt : nextUtcMidnight(last.reportedAt);
}

/**
 * The quota-saver decision (pure). It holds while the latest reading, still inside its window,
 * has `used / limit >= threshold` or says near-limit; it lets go as soon as a newer reading is
 * below the threshold without near-limit, or when the window ends (`until`), whichever is first.
 */
export function saverVerdict(last: LastQuota | null, now: number, config: QuotaSaverConfig): SaverVerdict {
  if (!config.enabled || last === null) return OFF;
  const until = quotaWindowEnd(last);
  if (now >= until) return OFF;
  if (last.nearLimit) return { saving: true, reason: 'near_limit', until };
  if (last.used !== null && last.limit !== null && last.limit > 0 && last.used / last.limit >= config.threshold) {
    return { saving: true, reason: 'usage', until };
  }
  return OFF;
}
