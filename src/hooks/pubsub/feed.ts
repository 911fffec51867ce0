import type { SalesforcePubSubConfig } from '../../config/types.js';
import type { CompiledUpstream } from '../../proxy/upstreams.js';
import { recordChangeTags } from '../salesforce-records.js';
import { writeEquivalent } from '../write-equivalent.js';
import { PubSubSubscriber, type ChangeFeedReading, type SubscriberOptions } from './subscriber.js';

export type { ChangeFeedReading } from './subscriber.js';

/** What the subscriber needs, with the upstreams to find its write rules in instead of them. */
export type ChangeFeedOptions = Omit<SubscriberOptions, 'equivalent' | 'backoff' | 'standbyPollMs'> & {
  readonly upstreams: readonly CompiledUpstream[];
};

/** The Pub/Sub API subscriber for `hooks.salesforcePubSub`, built (not started) with what a change invalidates: the upstream's write rules. */
export function salesforcePubSubFeed(options: ChangeFeedOptions): PubSubSubscriber {
  const { config } = options;
  const upstream = options.upstreams.find((u) => u.name === config.upstream);
  if (upstream === undefined) throw new Error(`hooks.salesforcePubSub: no upstream is named "${config.upstream}"`);
  const equivalent = writeEquivalent(upstream.rules);
  if (recordChangeTags(equivalent, 'Account', '001000000000000AAA').length === 0) {
    options.log.warn({ upstream: config.upstream }, `hooks.salesforcePubSub: upstream "${config.upstream}" has no write rule for PATCH …/sobjects/:type/:id with invalidates:, so change events will invalidate little (use its preset)`);
  }
  const { upstreams: _upstreams, ...subscriber } = options;
  return new PubSubSubscriber({ ...subscriber, equivalent });
}

/** What `/readyz` shows of a feed: its reading with times as ISO strings and ages. */
export function feedHealth(reading: ChangeFeedReading, now: number): object {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    state: reading.state,
    topic: reading.topic,
    lastEventAt: iso(reading.lastEventAt),
    lagMs: reading.lagMs,
    replayIdSavedAt: iso(reading.cursorSavedAt),
    replayIdAgeMs: reading.cursorSavedAt === null ? null : Math.max(0, now - reading.cursorSavedAt),
    reconnects: reading.reconnects,
    resyncs: reading.resyncs,
    lastError: reading.lastError,
  };
}
