/**
 * The audit writer's one flush timer: armed with a delay, it fires once, and arming it again
 * only ever brings the flush forward, never pushes it back.
 */
export class FlushTimer {
  readonly #fire: () => void;
  #timer: NodeJS.Timeout | null = null;
  #dueAt = Infinity;
  /** The delay the timer was armed with. */
  #delay = Infinity;

  constructor(fire: () => void) {
    this.#fire = fire;
  }

  /** Fires in `delayMs`, unless already due sooner. */
  arm(delayMs: number): void {
    if (this.#timer !== null) {
      // Armed earlier with a delay no longer than this one: due sooner, whatever the clock says
      // (the common case, once per recorded event, so it does without reading the clock).
      if (this.#delay <= delayMs) return;
      const due = Date.now() + delayMs;
      if (this.#dueAt <= due) return;
      clearTimeout(this.#timer);
    }
    this.#dueAt = Date.now() + delayMs;
    this.#delay = delayMs;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#dueAt = Infinity;
      this.#fire();
    }, delayMs).unref();
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dueAt = Infinity;
  }
}
