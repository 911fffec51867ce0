import type { FastifyBaseLogger } from 'fastify';
import type { AuditEventFields } from '../../audit/events.js';
import type { SalesforcePubSubConfig } from '../../config/types.js';
import type { Invalidator } from '../../invalidation/invalidator.js';
import type { CompiledUpstream } from '../../proxy/upstreams.js';
import type { DeliveryDedupe } from '../dedupe.js';
import { recordChangeTags } from '../salesforce-records.js';
import { writeEquivalent } from '../write-equivalent.js';
import type { LeaseDatabase } from './leadership.js';
import { PubSubSubscriber, type ChangeFeedReading } from './subscriber.js';

export type { ChangeFeedReading } from './subscriber.js';

export interface ChangeFeedOptions {
  readonly config: SalesforcePubSubConfig;
  readonly upstreams: readonly CompiledUpstream[];
  readonly database: LeaseDatabase;
  readonly invalidator: Pick<Invalidator, 'invalidate'>;
  /** The delivery dedupe the HTTP hooks use too. */
  readonly dedupe: DeliveryDedupe;
  readonly audit: { record(event: AuditEventFields): void } | null;
  readonly accepting: () => boolean;
  readonly events: { hookDelivery(source: string, outcome: string): void };
  readonly log: FastifyBaseLogger;
  readonly now?: () => number;
}

/** The Pub/Sub API subscriber for `hooks.salesforcePubSub`, built (not started) with what a change invalidates: the upstream's write rules. */
export function salesforcePubSubFeed(options: ChangeFeedOptions): PubSubSubscriber {
  const { config } = options;
  const upstream = options.upstreams.find((u) => u.name === config.upstream);
  if (upstream === undefined) throw new Error(`hooks.salesforcePubSub: no upstream is named "${config.upstream}"`);
  const equivalent = writeEquivalent(upstream.rules);
  if (recordChangeTags(equivalent, 'Account', '001000000000000AAA').length === 0) {
    options.log.warn({ upstream: config.upstream }, `hooks.salesforcePubSub: upstream "${config.upstream}" has no write rule for PATCH …/sobjects/:type/:id with invalidates:, so change events will invalidate little (use its preset)`);
  }
  return new PubSubSubscriber({
    config,
    equivalent,
    invalidator: options.invalidator,
    database: options.database,
    dedupe: options.dedupe,
    audit: options.audit,
    accepting: options.accepting,
    events: options.events,
    log: options.log,
    now: options.now,
  });
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
