import type { BreakerConfig } from '../config/types.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What a user of a shared dependency does with its one breaker: ask before a call, report after. */
export type BreakerGate = Pick<CircuitBreaker, 'allow' | 'success' | 'failure'>;

/**
 * Consecutive-failure breaker. Closed: calls go through. After `failureThreshold` failures in a
 * row it opens and refuses calls for `cooldownMs`; then it half-opens and lets one probe through
 * at a time: a success closes it, a failure re-opens it for another cooldown.
 */
export class CircuitBreaker {
  readonly #config: BreakerConfig;
  readonly #now: () => number;
  #failures = 0;
  #openedAt: number | null = null;
  #probing = false;
  #opens = 0;

  constructor(config: BreakerConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
  }

  get state(): BreakerState {
    if (this.#openedAt === null) return 'closed';
    return this.#now() - this.#openedAt >= this.#config.cooldownMs ? 'half-open' : 'open';
  }

  /** Times the breaker has opened since start. */
  get opens(): number {
    return this.#opens;
  }

  /** Whether a call may go ahead now; in half-open state only one probe is in flight. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#openedAt = null;
    this.#probing = false;
  }

  failure(): void {
    this.#failures += 1;
    const probeFailed = this.#probing;
    this.#probing = false;
    if (probeFailed || (this.#openedAt === null && this.#failures >= this.#config.failureThreshold)) this.#open();
  }

  /** Opens at once (e.g. a tier known to be down at start-up). */
  trip(): void {
    this.#open();
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#opens += 1;
  }
}
