import type { TierHealth } from '../cache/guarded-tier.js';
import type { CacheTier, TierStats } from '../cache/store.js';

type SampledTier = Pick<CacheTier, 'name' | 'stats'> & { health?(): TierHealth };

/**
 * Entry counts and bytes of the shared tiers, refreshed in the background: counting a Redis
 * index or a Postgres table on every scrape would make scrape cost grow with the cache.
 */
export class TierSizeSampler {
  readonly #tiers: readonly SampledTier[];
  readonly #latest = new Map<string, TierStats>();
  readonly #timer: NodeJS.Timeout;
  #refreshing: Promise<void> | null = null;

  constructor(tiers: readonly SampledTier[], intervalMs: number) {
    this.#tiers = tiers;
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
    void this.refresh();
  }

  /** The last sample of a tier, or undefined before the first one answered. */
  latest(tier: string): TierStats | undefined {
    return this.#latest.get(tier);
  }

  /** Samples every tier now; overlapping calls share one round. A tier that is down keeps its last sample. */
  refresh(): Promise<void> {
    this.#refreshing ??= Promise.all(
      this.#tiers.map(async (tier) => {
        if (tier.health?.() === 'down') return;
        try {
          this.#latest.set(tier.name, await tier.stats());
        } catch {
          // The guarded tier already logs and counts its errors.
        }
      }),
    ).then(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
