import { quantile, total, totalsBy, type Sample } from '../metrics-text.js';

/**
 * What the overview derives from one `/metrics` scrape, and rates between two of them. Pure, so
 * the arithmetic is tested without a browser.
 */
export const OUTCOMES = ['hit', 'stale', 'miss', 'revalidated', 'bypass', 'none'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Snapshot {
  /** ms since the epoch, when the scrape answered. */
  at: number;
  requests: number;
  byOutcome: Record<Outcome, number>;
  /** 5xx answers and requests with no answer. */
  errors: number;
}

export function snapshot(samples: readonly Sample[], at: number): Snapshot {
  const by = totalsBy(samples, 'sidecache_requests_total', 'cache');
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, by.get(o) ?? 0])) as Record<Outcome, number>;
  const errors = total(samples, 'sidecache_requests_total', { status_class: '5xx' }) + total(samples, 'sidecache_requests_total', { status_class: 'error' });
  return { at, requests: total(samples, 'sidecache_requests_total'), byOutcome, errors };
}

/** Requests per second by outcome, and errors, between two snapshots (a restart reads as 0). */
export function rates(before: Snapshot, after: Snapshot): Record<Outcome | 'error', number> {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const per = (a: number, b: number) => Math.max(0, b - a) / seconds;
  const out = Object.fromEntries(OUTCOMES.map((o) => [o, per(before.byOutcome[o], after.byOutcome[o])])) as Record<Outcome | 'error', number>;
  out.error = per(before.errors, after.errors);
  return out;
}

/** (hit + stale + revalidated) / (those + miss) between two snapshots; null when nothing cacheable happened. */
export function hitRatio(before: Pick<Snapshot, 'byOutcome'> | null, after: Pick<Snapshot, 'byOutcome'>): number | null {
  const delta = (o: Outcome) => after.byOutcome[o] - (before?.byOutcome[o] ?? 0);
  const hits = delta('hit') + delta('stale') + delta('revalidated');
  const cacheable = hits + delta('miss');
  return cacheable <= 0 ? null : hits / cacheable;
}

/**
 * Upstream calls saved since start: `sidecache_upstream_calls_saved_total` where the instance
 * counts them (README, "Quota": hits, and stale answers made with no call); otherwise estimated
 * as hits plus stale answers.
 */
export function callsSaved(samples: readonly Sample[], snap: Snapshot): { value: number; counted: boolean } {
  if (samples.some((sample) => sample.name === 'sidecache_upstream_calls_saved_total')) {
    return { value: total(samples, 'sidecache_upstream_calls_saved_total'), counted: true };
  }
  return { value: snap.byOutcome.hit + snap.byOutcome.stale, counted: false };
}

export interface TierLatency {
  tier: string;
  p50: number | null;
  p95: number | null;
}

/** p50/p95 in ms of answers per answering tier (`none`: answered by the upstream) since start. */
export function latencyByTier(samples: readonly Sample[]): TierLatency[] {
  const tiers = new Set<string>();
  for (const sample of samples) if (sample.name === 'sidecache_request_duration_seconds_bucket' && sample.labels['tier'] !== undefined) tiers.add(sample.labels['tier']);
  return [...tiers].sort().map((tier) => {
    const p50 = quantile(samples, 'sidecache_request_duration_seconds', 0.5, { tier });
    const p95 = quantile(samples, 'sidecache_request_duration_seconds', 0.95, { tier });
    return { tier: tier === 'none' ? 'upstream (miss/bypass)' : tier, p50: p50 === null ? null : p50 * 1000, p95: p95 === null ? null : p95 * 1000 };
  });
}

/** Quota used and limit per upstream, where the upstream reports one. */
export function quotas(samples: readonly Sample[]): Map<string, { used: number; limit: number }> {
  const used = totalsBy(samples, 'sidecache_upstream_quota_used', 'upstream');
  const limit = totalsBy(samples, 'sidecache_upstream_quota_limit', 'upstream');
  const out = new Map<string, { used: number; limit: number }>();
  for (const [upstream, value] of used) out.set(upstream, { used: value, limit: limit.get(upstream) ?? 0 });
  return out;
}
