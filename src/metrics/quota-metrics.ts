import { Counter, Gauge, type Registry } from 'prom-client';
import type { QuotaState } from '../resilience/quota.js';

/**
 * Each upstream's reported API quota, quota-saver mode and the calls the cache saved it, read at
 * scrape time from its `UpstreamQuota` (the one owner). Usage gauges appear once the upstream has
 * reported a quota (Salesforce `Sforce-Limit-Info`, Jira `X-RateLimit-*`).
 */
export function registerQuotaMetrics(registry: Registry, quotas: () => ReadonlyMap<string, QuotaState>): void {
  const registers = [registry];
  const metric = (type: 'gauge' | 'counter', name: string, help: string, value: (q: QuotaState) => number | null): void => {
    const each = (write: (upstream: string, v: number) => void): void => {
      for (const [upstream, q] of quotas()) {
        const v = value(q);
        if (v !== null) write(upstream, v);
      }
    };
    const options = { name, help, labelNames: ['upstream'] as const, registers };
    if (type === 'gauge') {
      new Gauge({ ...options, collect() { this.reset(); each((upstream, v) => this.set({ upstream }, v)); } });
    } else {
      new Counter({ ...options, collect() { this.reset(); each((upstream, v) => this.inc({ upstream }, v)); } });
    }
  };
  const gauge = (name: string, help: string, value: (q: QuotaState) => number | null) => metric('gauge', name, help, value);
  const counter = (name: string, help: string, value: (q: QuotaState) => number) => metric('counter', name, help, value);
  gauge('sidecache_upstream_quota_used', 'API calls used in the current quota window, as the upstream last reported it.', (q) => q.last?.used ?? null);
  gauge('sidecache_upstream_quota_limit', "The upstream's API call allowance for the window, as last reported.", (q) => q.last?.limit ?? null);
  gauge('sidecache_upstream_quota_near_limit', '1 while the last report, in its window, is at or above the quota-saver threshold or says near-limit (X-RateLimit-NearLimit), else 0.', (q) =>
    q.last === null ? null : q.nearLimit ? 1 : 0,
  );
  gauge('sidecache_upstream_quota_saver', '1 while quota-saver mode holds (stale entries answer, refreshes stop), else 0.', (q) => (q.saving ? 1 : 0));
  counter(
    'sidecache_upstream_calls_saved_total',
    'Requests answered without an upstream call: cache hits (any tier) and stale answers in quota-saver mode.',
    (q) => q.callsSaved,
  );
  counter('sidecache_upstream_quota_malformed_total', 'Quota fields (Sforce-Limit-Info, X-RateLimit-*) that could not be read and were ignored.', (q) => q.malformed);
}
