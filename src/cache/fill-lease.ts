import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { InvalidationBus } from '../invalidation/bus.js';
import type { BreakerGate } from '../resilience/circuit-breaker.js';
import { withTimeout } from '../resilience/timeout.js';

/** What `acquire` found: this instance fills the key, another does, or Redis could not say. */
export type LeaseOutcome = { readonly kind: 'acquired'; readonly token: string } | { readonly kind: 'held' } | { readonly kind: 'unavailable' };

/** A fill lease outlives a slow upstream call; a crashed holder delays the others this long at most. */
export const FILL_LEASE_MS = 10_000;
/** How often a waiter looks for the fill when no bus message has woken it. */
export const FILL_POLL_MS = 50;

export interface FillLeaseOptions {
  readonly client: Redis | Cluster;
  readonly namespace: string;
  /** How long a lease lives if its holder never releases it (crash, hang). */
  readonly leaseMs: number;
  /** Bound on each Redis call; past it the caller fetches for itself. */
  readonly timeoutMs: number;
  /** How often a waiter checks for the fill when no bus message arrives. */
  readonly pollMs: number;
  /** Wakes waiters as soon as the holder's Redis write is announced (the `evict` message). */
  readonly bus: InvalidationBus | null;
  /** Redis's one breaker: while it is open no lease is tried, so misses stop paying a timeout each. */
  readonly breaker: BreakerGate;
}

// Deletes the lease only if it is still ours (it may have expired and been taken by another).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Cross-instance single flight: the first instance to miss a key takes a short lease
 * (`SET NX PX`) and fetches; the others wait until the lease is released (after the filled entry
 * reached Redis) or expires, then read the entry from Redis — or fetch themselves if the holder
 * stored nothing. Waits are bounded by the lease's life, so a crashed holder costs at most that.
 */
export class FillLeases {
  readonly #options: FillLeaseOptions;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly stats = { acquired: 0, waited: 0, unavailable: 0 };

  constructor(options: FillLeaseOptions) {
    this.#options = options;
    options.bus?.onMessage((message) => {
      if (message.type !== 'evict') return;
      for (const key of message.keys) {
        const wake = this.#waiters.get(key);
        if (wake !== undefined) for (const resolve of wake) resolve();
      }
    });
  }

  async acquire(key: string): Promise<LeaseOutcome> {
    if (!this.#options.breaker.allow()) return this.#unavailable();
    const token = randomBytes(12).toString('base64url');
    try {
      const result = await this.#bounded(this.#options.client.set(this.#leaseKey(key), token, 'PX', this.#options.leaseMs, 'NX'));
      this.#options.breaker.success();
      if (result === 'OK') {
        this.stats.acquired += 1;
        return { kind: 'acquired', token };
      }
      this.stats.waited += 1;
      return { kind: 'held' };
    } catch {
      this.#options.breaker.failure();
      return this.#unavailable();
    }
  }

  /** Releases a lease taken by `acquire`; never throws (an unreleased lease just expires). */
  async release(key: string, token: string): Promise<void> {
    try {
      await this.#bounded(this.#options.client.eval(RELEASE, 1, this.#leaseKey(key), token));
    } catch {
      // It expires by itself.
    }
  }

  /**
   * Waits until another instance's lease on `key` is gone (released or expired), checking on every
   * bus announcement of the key and every `pollMs`. Resolves false if Redis stopped answering.
   */
  async waitForRelease(key: string): Promise<boolean> {
    const deadline = Date.now() + this.#options.leaseMs;
    while (Date.now() < deadline) {
      await this.#nextSignal(key, Math.min(this.#options.pollMs, deadline - Date.now()));
      try {
        const exists = await this.#bounded(this.#options.client.exists(this.#leaseKey(key)));
        if (exists === 0) return true;
      } catch {
        return false;
      }
    }
    return true;
  }

  #nextSignal(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      waiters.add(done);
    });
  }

  #unavailable(): LeaseOutcome {
    this.stats.unavailable += 1;
    return { kind: 'unavailable' };
  }

  #leaseKey(key: string): string {
    return `sidecache:${this.#options.namespace}:lease:${key}`;
  }

  #bounded<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.#options.timeoutMs, () => new Error('redis lease call timed out'));
  }
}
