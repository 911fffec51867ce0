import t from 'tap';
import { decideRead } from '../../../src/policy/read-decision.js';

t.test('the read decision, for every freshness and client reload', async (t) => {
  const cases = [
    [null, false, { action: 'fetch', staleFallback: false }, 'nothing stored: fetch'],
    [null, true, { action: 'fetch', staleFallback: false }, 'nothing stored, reload: fetch'],
    ['fresh', false, { action: 'serve' }, 'fresh: serve'],
    ['fresh', true, { action: 'fetch', staleFallback: true }, 'fresh, reload: fetch, the entry stands in for a failure'],
    ['stale-while-revalidate', false, { action: 'serve-stale' }, 'in stale-while-revalidate: serve and refresh'],
    ['stale-while-revalidate', true, { action: 'fetch', staleFallback: true }, 'in stale-while-revalidate, reload: fetch with fallback'],
    ['stale-if-error', false, { action: 'fetch', staleFallback: true }, 'in stale-if-error: fetch, stale only on failure'],
    ['stale-if-error', true, { action: 'fetch', staleFallback: true }, 'in stale-if-error, reload: the same'],
    ['expired', false, { action: 'fetch', staleFallback: false }, 'expired: never served'],
    ['expired', true, { action: 'fetch', staleFallback: false }, 'expired, reload: never served'],
  ] as const;
  for (const [state, reload, expected, name] of cases) t.same(decideRead(state, reload), expected, name);
});

t.test('in quota-saver mode every entry inside its stale windows answers, and nothing goes upstream for it', async (t) => {
  const cases = [
    [null, false, { action: 'fetch', staleFallback: false }, 'nothing stored: still fetched'],
    ['fresh', true, { action: 'serve' }, 'fresh, even to a reload: served'],
    ['stale-while-revalidate', false, { action: 'serve-quota' }, 'in stale-while-revalidate: served without a refresh'],
    ['stale-if-error', true, { action: 'serve-quota' }, 'in stale-if-error, reload or not: served'],
    ['expired', false, { action: 'fetch', staleFallback: false }, 'expired: never served'],
  ] as const;
  for (const [state, reload, expected, name] of cases) t.same(decideRead(state, reload, true), expected, name);
});
