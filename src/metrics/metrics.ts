import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProxyEvents, StaleReason } from '../proxy/events.js';
import { histogramQuantile } from './quantile.js';
import { RequestTally } from './request-tally.js';
import { registerChangeFeedMetrics, type ChangeFeedMetricReading } from './change-feeds.js';
import { registerSourceMetrics, type MetricSources } from './source-metrics.js';
import { cacheLabel, methodLabel, statusClass, upstreamLabel } from './labels.js';

/** One upstream's figures since start. Latency quantiles are estimated from histogram buckets. */
export interface UpstreamSummary {
  requests: number;
  /** Requests answered with a 5xx (the upstream's own or sidecache's 502/503/504). */
  errors: number;
  inFlight: number;
  upstreamLatencyMs: { p50: number | null; p95: number | null };
  coalesced: number;
  staleServed: Record<string, number>;
}

// From a memory hit (~0.1 ms) to a slow Salesforce call (seconds).
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Child = { inc(value?: number): void };
type Observer = { observe(value: number): void };

/**
 * sidecache's Prometheus metrics in their own registry (so several instances in one process, as
 * in tests, never share counters). Hot-path metrics cache their labelled children, so recording
 * a request costs no label hashing; everything that already lives elsewhere as a counter (tier
 * look-ups, invalidations, audit) is read at scrape time instead of being counted twice.
 */
export class SidecacheMetrics implements ProxyEvents {
  readonly registry = new Registry();
  readonly #requests: RequestTally;
  readonly #upstreamDuration: Histogram<'upstream' | 'status_class'>;
  readonly #coalesced: Counter<'upstream'>;
  readonly #staleServed: Counter<'upstream' | 'reason'>;
  readonly #hookDeliveries: Counter<'source' | 'outcome'>;
  readonly #children = new Map<string, Child | Observer>();
  readonly #inFlight = new Map<string, number>();

  constructor(sources: MetricSources = {}, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'sidecache_' });

    this.#requests = new RequestTally(this.registry, DURATION_BUCKETS);
    this.#upstreamDuration = new Histogram({
      name: 'sidecache_upstream_request_duration_seconds',
      help: "Time until the upstream's response headers (or its failure), by upstream and status class.",
      labelNames: ['upstream', 'status_class'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    const inFlight = this.#inFlight;
    new Gauge({
      name: 'sidecache_upstream_requests_in_flight',
      help: 'Upstream calls waiting for response headers.',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const [upstream, count] of inFlight) this.set({ upstream }, count);
      },
    });
    this.#coalesced = new Counter({
      name: 'sidecache_coalesced_requests_total',
      help: "Requests that joined another request's upstream call instead of making their own.",
      labelNames: ['upstream'],
      registers,
    });
    this.#staleServed = new Counter({
      name: 'sidecache_stale_served_total',
      help: 'Responses served from a stale entry, by reason.',
      labelNames: ['upstream', 'reason'],
      registers,
    });
    this.#hookDeliveries = new Counter({
      name: 'sidecache_hook_deliveries_total',
      help: 'Change-feed deliveries (POST /hooks/…) by source and outcome (invalidated, duplicate, ignored, malformed, unauthorized, …).',
      labelNames: ['source', 'outcome'],
      registers,
    });
    registerSourceMetrics(this.registry, sources);
  }

  requestCompleted(upstream: string | null, method: string, status: number, cache: string | null, seconds: number, tier: string | null = null): void {
    this.#requests.record(upstreamLabel(upstream), methodLabel(method), statusClass(status), cacheLabel(cache), tier ?? 'none', seconds);
  }

  upstreamStarted(upstream: string): void {
    this.#inFlight.set(upstream, (this.#inFlight.get(upstream) ?? 0) + 1);
  }

  upstreamFinished(upstream: string, status: number | null, seconds: number): void {
    this.#inFlight.set(upstream, Math.max(0, (this.#inFlight.get(upstream) ?? 1) - 1));
    const s = statusClass(status);
    this.#child(`u\0${upstream}\0${s}`, () => this.#upstreamDuration.labels(upstream, s)).observe(seconds);
  }

  upstreamAbandoned(upstream: string): void {
    this.#inFlight.set(upstream, Math.max(0, (this.#inFlight.get(upstream) ?? 1) - 1));
  }

  coalesced(upstream: string): void {
    this.#child(`c\0${upstream}`, () => this.#coalesced.labels(upstream)).inc();
  }

  staleServed(upstream: string, reason: StaleReason): void {
    this.#child(`s\0${upstream}\0${reason}`, () => this.#staleServed.labels(upstream, reason)).inc();
  }

  /** One change-feed delivery (or Pub/Sub event); both labels come from fixed lists in hooks/routes.ts and hooks/pubsub/apply.ts. */
  hookDelivery(source: string, outcome: string): void {
    this.#child(`h\0${source}\0${outcome}`, () => this.#hookDeliveries.labels(source, outcome)).inc();
  }

  /** Exports the change-feed subscriptions' state, read at scrape time (once, when a feed is configured). */
  observeChangeFeeds(read: () => readonly ChangeFeedMetricReading[]): void {
    registerChangeFeedMetrics(this.registry, read);
  }

  /** Upstream calls in flight right now, per upstream. */
  inFlight(): ReadonlyMap<string, number> {
    return this.#inFlight;
  }

  /** Per-upstream figures for `/admin/stats`, read from the same counters Prometheus scrapes. */
  async upstreamSummaries(): Promise<Map<string, UpstreamSummary>> {
    const summaries = new Map<string, UpstreamSummary & { buckets: Map<number, number> }>();
    const summary = (upstream: string) => {
      let found = summaries.get(upstream);
      if (found === undefined) {
        found = { requests: 0, errors: 0, inFlight: this.#inFlight.get(upstream) ?? 0, upstreamLatencyMs: { p50: null, p95: null }, coalesced: 0, staleServed: {}, buckets: new Map() };
        summaries.set(upstream, found);
      }
      return found;
    };
    for (const { labels, value } of this.#requests.counts()) {
      const entry = summary(String(labels.upstream));
      entry.requests += value;
      if (labels.status_class === '5xx') entry.errors += value;
    }
    for (const { labels, value, metricName } of (await this.#upstreamDuration.get()).values) {
      if (!metricName?.endsWith('_bucket')) continue;
      const bound = (labels as { le?: string | number }).le;
      const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      const buckets = summary(String(labels.upstream)).buckets;
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
    for (const { labels, value } of (await this.#coalesced.get()).values) summary(String(labels.upstream)).coalesced += value;
    for (const { labels, value } of (await this.#staleServed.get()).values) {
      const stale = summary(String(labels.upstream)).staleServed;
      stale[String(labels.reason)] = (stale[String(labels.reason)] ?? 0) + value;
    }
    for (const upstream of this.#inFlight.keys()) summary(upstream);
    const out = new Map<string, UpstreamSummary>();
    for (const [upstream, { buckets, ...rest }] of summaries) {
      const cumulative = [...buckets].map(([le, count]) => ({ le, count }));
      const ms = (q: number) => {
        const seconds = histogramQuantile(q, cumulative);
        return seconds === null ? null : Math.round(seconds * 1e4) / 10;
      };
      out.set(upstream, { ...rest, upstreamLatencyMs: { p50: ms(0.5), p95: ms(0.95) } });
    }
    return out;
  }

  /** The Prometheus text exposition of every metric. */
  async scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The labelled child for `id`, created once: later calls skip prom-client's label hashing. */
  #child<T extends Child | Observer>(id: string, create: () => T): T {
    let child = this.#children.get(id) as T | undefined;
    if (child === undefined) {
      child = create();
      this.#children.set(id, child);
    }
    return child;
  }
}
