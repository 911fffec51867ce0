import { Counter, Gauge, type Registry } from 'prom-client';

/** A change-feed subscription at scrape time (hooks/pubsub/subscriber.ts). */
export interface ChangeFeedMetricReading {
  readonly feed: string;
  readonly state: string;
  readonly lagMs: number | null;
  readonly cursorSavedAt: number | null;
  readonly reconnects: number;
  readonly resyncs: number;
}

/** Every state a feed reports, so the state gauge has one series per state (1 for the current one). */
export const CHANGE_FEED_STATES = ['connecting', 'subscribed', 'backing_off', 'standby', 'stopped'] as const;

/** `sidecache_change_feed_*`: state, lag, replay-id age, reconnects and resyncs of each subscription. */
export function registerChangeFeedMetrics(registry: Registry, feeds: () => readonly ChangeFeedMetricReading[], now: () => number = Date.now): void {
  const registers = [registry];
  new Gauge({
    name: 'sidecache_change_feed_state',
    help: 'Change-feed subscription state: 1 for the current one (subscribed, connecting, backing_off, standby while another instance leads, stopped).',
    labelNames: ['feed', 'state'],
    registers,
    collect() {
      this.reset();
      for (const f of feeds()) for (const state of CHANGE_FEED_STATES) this.set({ feed: f.feed, state }, f.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sidecache_change_feed_lag_seconds',
    help: "From the last applied change's commit in Salesforce to its invalidation here.",
    labelNames: ['feed'],
    registers,
    collect() {
      this.reset();
      for (const f of feeds()) if (f.lagMs !== null) this.set({ feed: f.feed }, f.lagMs / 1000);
    },
  });
  new Gauge({
    name: 'sidecache_change_feed_replay_id_age_seconds',
    help: 'Time since the stored replay id last moved (events or keep-alives); a resume needs it within the 72 h retention.',
    labelNames: ['feed'],
    registers,
    collect() {
      this.reset();
      for (const f of feeds()) if (f.cursorSavedAt !== null) this.set({ feed: f.feed }, Math.max(0, now() - f.cursorSavedAt) / 1000);
    },
  });
  new Counter({
    name: 'sidecache_change_feed_reconnects_total',
    help: 'Subscriptions started again after their stream ended or failed.',
    labelNames: ['feed'],
    registers,
    collect() {
      this.reset();
      for (const f of feeds()) this.inc({ feed: f.feed }, f.reconnects);
    },
  });
  new Counter({
    name: 'sidecache_change_feed_resyncs_total',
    help: 'Stored replay ids Salesforce no longer had; each invalidated everything of the upstream.',
    labelNames: ['feed'],
    registers,
    collect() {
      this.reset();
      for (const f of feeds()) this.inc({ feed: f.feed }, f.resyncs);
    },
  });
}
