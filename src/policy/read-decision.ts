import type { Freshness } from './freshness.js';

/**
 * What a read does with what the tiers hold:
 * - `serve`: answer from the entry;
 * - `serve-stale`: answer from the entry at once and refresh it in the background (RFC 5861 §3);
 * - `fetch`: go upstream; `staleFallback` says whether the entry may answer instead if the
 *   upstream fails (RFC 5861 §4, stale-if-error).
 */
export type ReadDecision =
  | { readonly action: 'serve' }
  | { readonly action: 'serve-stale' }
  | { readonly action: 'fetch'; readonly staleFallback: boolean };

const SERVE: ReadDecision = Object.freeze({ action: 'serve' });
const SERVE_STALE: ReadDecision = Object.freeze({ action: 'serve-stale' });
const FETCH: ReadDecision = Object.freeze({ action: 'fetch', staleFallback: false });
const FETCH_WITH_FALLBACK: ReadDecision = Object.freeze({ action: 'fetch', staleFallback: true });

/**
 * The read decision (pure): `state` is the stored entry's freshness (null: nothing stored) and
 * `clientRefresh` whether the client asked for an end-to-end reload (`no-cache`, `max-age=0`,
 * `Pragma: no-cache` under `clientNoCache: refresh`), which skips serving but not the fallback.
 */
export function decideRead(state: Freshness | null, clientRefresh: boolean): ReadDecision {
  if (state === null || state === 'expired') return FETCH;
  if (clientRefresh) return FETCH_WITH_FALLBACK;
  if (state === 'fresh') return SERVE;
  if (state === 'stale-while-revalidate') return SERVE_STALE;
  return FETCH_WITH_FALLBACK;
}
