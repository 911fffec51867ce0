import type { Freshness } from './freshness.js';
import type { ClientDirectives } from './request-directives.js';

/**
 * What a read does with what the tiers hold:
 * - `serve`: answer from the entry;
 * - `serve-stale`: answer from the entry at once and refresh it in the background (RFC 5861 §3);
 * - `serve-quota`: answer from the stale entry without any upstream call (quota-saver mode);
 * - `serve-accepted-stale`: answer from the stale entry the client accepts (`max-stale`);
 * - `fetch`: go upstream; `staleFallback` says whether the entry may answer instead if the
 *   upstream fails (RFC 5861 §4, stale-if-error);
 * - `unsatisfiable`: `only-if-cached` and nothing stored may answer: 504, no upstream call.
 */
export type ReadDecision =
  | { readonly action: 'serve' }
  | { readonly action: 'serve-stale' }
  | { readonly action: 'serve-quota' }
  | { readonly action: 'serve-accepted-stale' }
  | { readonly action: 'fetch'; readonly staleFallback: boolean }
  | { readonly action: 'unsatisfiable' };

const SERVE: ReadDecision = Object.freeze({ action: 'serve' });
const SERVE_STALE: ReadDecision = Object.freeze({ action: 'serve-stale' });
const SERVE_QUOTA: ReadDecision = Object.freeze({ action: 'serve-quota' });
const SERVE_ACCEPTED_STALE: ReadDecision = Object.freeze({ action: 'serve-accepted-stale' });
const FETCH: ReadDecision = Object.freeze({ action: 'fetch', staleFallback: false });
const FETCH_WITH_FALLBACK: ReadDecision = Object.freeze({ action: 'fetch', staleFallback: true });
const UNSATISFIABLE: ReadDecision = Object.freeze({ action: 'unsatisfiable' });

/**
 * The read decision (pure): `state` is the stored entry's freshness (null: nothing stored) and
 * `clientRefresh` whether the client asked for an end-to-end reload (`no-cache`, `max-age=0`,
 * `Pragma: no-cache` under `clientNoCache: refresh`), which skips serving but not the fallback.
 * `saving`: the upstream is in quota-saver mode, so any entry inside its stale windows answers
 * (a fresh one as usual, even to a refreshing client) and nothing goes upstream for it.
 */
export function decideRead(state: Freshness | null, clientRefresh: boolean, saving = false): ReadDecision {
  if (state === null || state === 'expired') return FETCH;
  if (saving) return state === 'fresh' ? SERVE : SERVE_QUOTA;
  if (clientRefresh) return FETCH_WITH_FALLBACK;
  if (state === 'fresh') return SERVE;
  if (state === 'stale-while-revalidate') return SERVE_STALE;
  return FETCH_WITH_FALLBACK;
}

/** A stored entry as the client's directives see it at the time of the read. */
export interface StoredView {
  readonly state: Freshness;
  /** Current age (RFC 9111 §4.2.3). */
  readonly ageMs: number;
  /** Time left until it goes stale; negative: how long it has been stale. */
  readonly freshForMs: number;
  /** The response forbids serving it stale. */
  readonly mustRevalidate: boolean;
}

/**
 * The read decision under the client's request directives (RFC 9111 §5.2.1), as standards mode
 * honours them: `max-age` and `min-fresh` narrow what counts as fresh, `max-stale` widens it
 * (never past `must-revalidate`), `no-cache` revalidates, `only-if-cached` never goes upstream.
 */
export function decideClientRead(stored: StoredView | null, client: ClientDirectives, saving = false): ReadDecision {
  if (stored === null) return client.onlyIfCached ? UNSATISFIABLE : FETCH;
  const { state, ageMs, freshForMs, mustRevalidate } = stored;
  const ageAccepted = client.maxAgeMs === null || ageMs <= client.maxAgeMs;
  if (!client.noCache && ageAccepted) {
    if (state === 'fresh' && freshForMs >= client.minFreshMs) return SERVE;
    if (state !== 'fresh' && !mustRevalidate && client.maxStaleMs !== null && -freshForMs <= client.maxStaleMs) return SERVE_ACCEPTED_STALE;
  }
  if (client.onlyIfCached) return UNSATISFIABLE;
  if (state === 'expired') return FETCH;
  if (saving) return state === 'fresh' ? SERVE : SERVE_QUOTA;
  if (state === 'fresh' || client.noCache || !ageAccepted) return FETCH_WITH_FALLBACK;
  return state === 'stale-while-revalidate' ? SERVE_STALE : FETCH_WITH_FALLBACK;
}
