/**
 * Lets a repeated problem reach the log at most once per `everyMs` per key, and says how many
 * lines it held back meanwhile: an outage must be loud, but not one line per request or batch.
 */
export class LogThrottle {
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(everyMs = 10_000, now: () => number = Date.now) {
    this.#everyMs = everyMs;
    this.#now = now;
  }

  /** Null to hold this line back, else how many lines of this key were held back since the last one. */
  admit(key = ''): number | null {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < this.#everyMs) {
      last.suppressed += 1;
      return null;
    }
    this.#last.set(key, { at: now, suppressed: 0 });
    return last?.suppressed ?? 0;
  }
}
