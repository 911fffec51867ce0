/** Collapses concurrent calls for the same key into one; the first caller leads, the rest wait. */
export class SingleFlight<T> {
  readonly #inflight = new Map<string, Promise<T>>();
  #collapsed = 0;

  run(key: string, work: () => Promise<T>): { leader: boolean; result: Promise<T> } {
    const existing = this.#inflight.get(key);
    if (existing !== undefined) {
      this.#collapsed += 1;
      return { leader: false, result: existing };
    }
    const result = work().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, result);
    return { leader: true, result };
  }

  /** Requests that joined another's flight instead of calling the upstream. */
  get collapsed(): number {
    return this.#collapsed;
  }

  get inflight(): number {
    return this.#inflight.size;
  }
}
