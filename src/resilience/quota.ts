import type { QuotaSaverConfig } from '../config/types.js';
import type { ResponseHeaders } from '../http/fields.js';
import { readQuotaFields } from '../http/quota-fields.js';
import { systemClock, type Clock } from './clock.js';
import { saverVerdict, type LastQuota, type SaverReason } from './quota-saver.js';

/** Quota-saver mode turning on or off; `reason` says why (on: what tripped it; off: what released it). */
export interface SaverChange {
  readonly saving: boolean;
  readonly reason: SaverReason | 'usage_dropped' | 'window_ended';
  readonly last: LastQuota | null;
}

export interface UpstreamQuotaOptions {
  readonly config: QuotaSaverConfig;
  readonly clock?: Clock;
  /** Told once per entry into and exit from quota-saver mode; must not throw. */
  readonly onChange?: (change: SaverChange) => void;
  /** Told the first time each quota field arrives malformed (later ones are only counted). */
  readonly onMalformed?: (field: string) => void;
}

/** An upstream's quota as `/admin/stats`, `/readyz` and the metrics show it. */
export interface QuotaState {
  readonly last: LastQuota | null;
  readonly retryAfterSeconds: number | null;
  /** The last report, still in its window, is at or above the threshold or says near-limit (whether or not the saver is enabled). */
  readonly nearLimit: boolean;
  readonly saving: boolean;
  readonly savingReason: SaverReason | null;
  /** Epoch ms quota-saver mode ends by itself (the quota window's end), null when off. */
  readonly savingUntil: number | null;
  readonly callsSaved: number;
  readonly callsSavedToday: number;
  /** Quota fields that could not be read (ignored). */
  readonly malformed: number;
}

const DAY_MS = 86_400_000;

/**
 * The one owner of an upstream's quota state: the last usage it reported, quota-saver mode, and
 * the calls the cache saved it. Fed every upstream response's headers by the upstream's guard;
 * read by the read path (`saving`, a field), refresh-ahead, warming, metrics, stats and readiness.
 */
export class UpstreamQuota {
  readonly #config: QuotaSaverConfig;
  readonly #clock: Clock;
  readonly #onChange: ((change: SaverChange) => void) | undefined;
  readonly #onMalformed: ((field: string) => void) | undefined;
  #last: LastQuota | null = null;
  #retryAfterSeconds: number | null = null;
  #reason: SaverReason | null = null;
  #until: number | null = null;
  #cancelExit: (() => void) | null = null;
  #saved = 0;
  #savedToday = 0;
  #savedDay = -1;
  #malformed = 0;
  readonly #reported = new Set<string>();

  constructor(options: UpstreamQuotaOptions) {
    this.#config = options.config;
    this.#clock = options.clock ?? systemClock;
    this.#onChange = options.onChange;
    this.#onMalformed = options.onMalformed;
  }

  /** True while quota-saver mode holds: cacheable reads are answered from stale entries, refreshes stop. */
  get saving(): boolean {
    return this.#reason !== null;
  }

  /** Reads the quota fields of one upstream response and updates the saver. */
  observe(headers: ResponseHeaders): void {
    const now = this.#clock.now();
    const { report, retryAfterSeconds, problems } = readQuotaFields(headers, now);
    for (const { field } of problems) {
      this.#malformed += 1;
      if (!this.#reported.has(field)) {
        this.#reported.add(field);
        this.#onMalformed?.(field);
      }
    }
    if (retryAfterSeconds !== null) this.#retryAfterSeconds = retryAfterSeconds;
    if (report === null) return;
    const previous = this.#last;
    this.#last = {
      used: report.used ?? (report.limit === null ? (previous?.used ?? null) : null),
      limit: report.limit ?? previous?.limit ?? null,
      nearLimit: report.nearLimit,
      resetAt: report.resetAt ?? (report.limit === null ? (previous?.resetAt ?? null) : null),
      reportedAt: now,
    };
    this.#update(now, 'usage_dropped');
  }

  /** One request answered without an upstream call (see README, "calls saved"). */
  noteSaved(): void {
    const day = Math.floor(this.#clock.now() / DAY_MS);
    if (day !== this.#savedDay) {
      this.#savedDay = day;
      this.#savedToday = 0;
    }
    this.#saved += 1;
    this.#savedToday += 1;
  }

  state(): QuotaState {
    const now = this.#clock.now();
    const today = Math.floor(now / DAY_MS) === this.#savedDay ? this.#savedToday : 0;
    return {
      last: this.#last,
      retryAfterSeconds: this.#retryAfterSeconds,
      nearLimit: saverVerdict(this.#last, now, { ...this.#config, enabled: true }).saving,
      saving: this.#reason !== null,
      savingReason: this.#reason,
      savingUntil: this.#until,
      callsSaved: this.#saved,
      callsSavedToday: today,
      malformed: this.#malformed,
    };
  }

  /** Cancels the pending end-of-window timer. */
  close(): void {
    this.#cancelExit?.();
    this.#cancelExit = null;
  }

  #update(now: number, releasedBy: 'usage_dropped' | 'window_ended'): void {
    const verdict = saverVerdict(this.#last, now, this.#config);
    const was = this.#reason;
    if (!verdict.saving) {
      this.close();
      this.#reason = null;
      this.#until = null;
      if (was !== null) this.#onChange?.({ saving: false, reason: releasedBy, last: this.#last });
      return;
    }
    this.#reason = verdict.reason;
    if (this.#until !== verdict.until) {
      this.close();
      this.#until = verdict.until;
      this.#cancelExit = this.#clock.setTimeout(() => {
        this.#cancelExit = null;
        this.#update(this.#clock.now(), 'window_ended');
      }, verdict.until - now);
    }
    if (was === null) this.#onChange?.({ saving: true, reason: verdict.reason, last: this.#last });
  }
}
