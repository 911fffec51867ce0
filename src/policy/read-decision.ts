import type { Freshness } from './freshness.js';

/**
 * What a read does with what the tiers hold:
 * - `serve`: answer from the entry;
 * - `serve-stale`: answer from the entry at once and refresh it in the background (RFC 5861 §3);
 * - `serve-quota`: answer from the stale entry without any upstream call (quota-saver mode);
 * - `fetch`: go upstream; `staleFallback` says whether the entry may answer instead if the
 *   upstream fails (RFC 5861 §4, stale-if-error).
 */
export type ReadDecision =
  | { readonly action: 'serve' }
  | { readonly action: 'serve-stale' }
  | { readonly action: 'serve-quota' }
  | { readonly action: 'fetch'; readonly staleFallback: boolean };

const SERVE: ReadDecision = Object.freeze({ action: 'serve' });
const SERVE_STALE: ReadDecision = Object.freeze({ action: 'serve-stale' });
const SERVE_QUOTA: ReadDecision = Object.freeze({ action: 'serve-quota' });
const FETCH: ReadDecision = Object.freeze({ action: 'fetch', staleFallback: false });
const FETCH_WITH_FALLBACK: ReadDecision = Object.freeze({ action: 'fetch', staleFallback: true });

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
