/**
 * Reconnect delays: doubling from `initialMs` up to `maxMs`. Each delay is drawn at random from
 * the top `jitter` share of its step (default the upper half), so a fleet does not retry in step.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Share of the delay that is random, from 0 (none) to 1; default 0.5. */
  readonly jitter?: number;
  readonly random?: () => number;
}

/** The delay before retry number `attempt` (0 = the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const jitter = options.jitter ?? 0.5;
  return Math.round(ceiling * (1 - jitter) + (options.random ?? Math.random)() * ceiling * jitter);
}
