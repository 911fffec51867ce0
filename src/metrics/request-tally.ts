import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from 'prom-client';

/** One label set's running figures. */
interface Slot {
  readonly labels: { upstream: string; method: string; status_class: string; cache: string };
  /** The tier that answered (memory, redis, postgres), or none: a label of the histogram only. */
  readonly tier: string;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last is +Inf. */
  readonly buckets: Float64Array;
}

/**
 * Finished requests, counted on the hot path with a few field writes, and exported at scrape
 * time as `sidecache_requests_total` (a counter) and `sidecache_request_duration_seconds` (a
 * histogram) in prom-client's own shapes. prom-client's labelled children hash their labels on
 * every inc/observe (about 1 µs per request together); here a request costs one Map look-up.
 */
export class RequestTally {
  readonly #bounds: readonly number[];
  readonly #slots = new Map<string, Slot>();
  /**
   * The slot the last request counted into: traffic repeats its label set (a hot URL's hits), and
   * comparing five strings costs less than building and hashing the joined id.
   */
  #last: Slot | undefined;

  constructor(registry: Registry, bounds: readonly number[]) {
    this.#bounds = bounds;
    registry.registerMetric(
      exported('sidecache_requests_total', 'Proxied requests by upstream, method, status class and cache outcome.', 'counter', () => this.counts()) as never,
    );
    registry.registerMetric(
      exported(
        'sidecache_request_duration_seconds',
        'Time from request arrival to the response being finished, by upstream, cache outcome and the tier that answered.',
        'histogram',
        () => histogramValues('sidecache_request_duration_seconds', bounds, this.#slots.values()),
      ) as never,
    );
  }

  /** Requests since start per (upstream, method, status class, cache) label set. */
  counts(): MetricValue<'upstream' | 'method' | 'status_class' | 'cache'>[] {
    const merged = new Map<string, MetricValue<'upstream' | 'method' | 'status_class' | 'cache'>>();
    for (const slot of this.#slots.values()) {
      const { upstream, method, status_class, cache } = slot.labels;
      const id = `${upstream}\0${method}\0${status_class}\0${cache}`;
      const found = merged.get(id);
      if (found === undefined) merged.set(id, { labels: slot.labels, value: slot.count });
      else found.value += slot.count;
    }
    return [...merged.values()];
  }

  record(upstream: string, method: string, statusClass: string, cache: string, tier: string, seconds: number): void {
    let slot = this.#last;
    if (
      slot === undefined ||
      slot.tier !== tier ||
      slot.labels.cache !== cache ||
      slot.labels.status_class !== statusClass ||
      slot.labels.method !== method ||
      slot.labels.upstream !== upstream
    ) {
      const id = `${upstream}\0${method}\0${statusClass}\0${cache}\0${tier}`;
      slot = this.#slots.get(id);
      if (slot === undefined) {
        slot = { labels: { upstream, method, status_class: statusClass, cache }, tier, count: 0, sum: 0, buckets: new Float64Array(this.#bounds.length + 1) };
        this.#slots.set(id, slot);
      }
      this.#last = slot;
    }
    slot.count += 1;
    slot.sum += seconds;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i += 1;
    slot.buckets[i]! += 1;
  }
}

/** An object the prom-client Registry exposes like its own metrics (it only calls get and reset). */
function exported(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue<string>[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
      return { name, help, type: type as never, aggregator: 'sum', values: values(), collect: () => undefined };
    },
    reset(): void {
      // Counts since start, like every other counter here; a registry reset leaves them.
    },
  };
}

/** Cumulative `_bucket` values per (upstream, cache, tier), then `_sum` and `_count`, as prom-client's Histogram exports. */
function histogramValues(name: string, bounds: readonly number[], slots: Iterable<Slot>): MetricValueWithName<string>[] {
  const merged = new Map<string, { labels: { upstream: string; cache: string; tier: string }; buckets: Float64Array; sum: number; count: number }>();
  for (const slot of slots) {
    const id = `${slot.labels.upstream}\0${slot.labels.cache}\0${slot.tier}`;
    let series = merged.get(id);
    if (series === undefined) {
      series = { labels: { upstream: slot.labels.upstream, cache: slot.labels.cache, tier: slot.tier }, buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
      merged.set(id, series);
    }
    for (let i = 0; i < slot.buckets.length; i++) series.buckets[i]! += slot.buckets[i]!;
    series.sum += slot.sum;
    series.count += slot.count;
  }
  const values: MetricValueWithName<string>[] = [];
  for (const { labels, buckets, sum, count } of merged.values()) {
    let cumulative = 0;
    for (let i = 0; i < buckets.length; i++) {
      cumulative += buckets[i]!;
      values.push({ labels: { ...labels, le: i < bounds.length ? bounds[i]! : '+Inf' }, value: cumulative, metricName: `${name}_bucket` });
    }
    values.push({ labels, value: sum, metricName: `${name}_sum` }, { labels, value: count, metricName: `${name}_count` });
  }
  return values;
}
