import t from 'tap';
import { EpochTable, epochTag, prefixEpoch, upstreamEpoch, uriEpoch, ALL_EPOCH } from '../../../src/invalidation/epochs.js';
import { epochNames } from '../../../src/invalidation/invalidator.js';
import { testEntry } from '../../helpers/tier-contract.js';

const entry = (overrides: Parameters<typeof testEntry>[1] = {}) =>
  testEntry(1_000, { upstream: 'sf', path: '/services/data/v60.0/sobjects/Account/001?fields=Name', tags: ['sf:Account:001', 'sf:Account'], ...overrides });

t.test('an empty table accepts everything', async (t) => {
  t.ok(new EpochTable().isCurrent(entry()));
});

t.test('a tag epoch at or after the request time rejects the entry; an older one does not', async (t) => {
  const epochs = new EpochTable();
  epochs.bump([epochTag('sf:account:001')], 999);
  t.ok(epochs.isCurrent(entry()), 'invalidated before the entry was requested');
  epochs.bump([epochTag('SF:Account:001')], 1_000);
  t.notOk(epochs.isCurrent(entry()), 'same millisecond: rejected (tags are case-insensitive)');
  t.ok(epochs.isCurrent(entry({ storedAt: 1_001 })), 'a later fetch is current');
});

t.test('every kind of name an entry is subject to', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['all', ALL_EPOCH, false],
    ['its upstream', upstreamEpoch('sf'), false],
    ['another upstream', upstreamEpoch('jira'), true],
    ['its exact path (any query)', uriEpoch('sf', '/services/data/v60.0/sobjects/Account/001'), false],
    ['another path', uriEpoch('sf', '/services/data/v60.0/sobjects/Account/002'), true],
    ['an ancestor prefix', prefixEpoch('sf', '/services/data'), false],
    ['the root prefix', prefixEpoch('sf', '/'), false],
    ['its own path as prefix', prefixEpoch('sf', '/services/data/v60.0/sobjects/Account/001'), false],
    ['a prefix at no segment boundary', prefixEpoch('sf', '/services/da'), true],
    ['a sibling prefix', prefixEpoch('sf', '/services/data/v60.0/sobjects/Contact'), true],
    ['a prefix of another upstream', prefixEpoch('jira', '/services'), true],
    ['an unrelated tag', epochTag('sf:Contact'), true],
  ];
  for (const [name, epoch, current] of cases) {
    const epochs = new EpochTable();
    epochs.bump([epoch], 5_000);
    t.equal(epochs.isCurrent(entry()), current, name);
  }
});

t.test('bump keeps the latest time; prune forgets old epochs', async (t) => {
  const epochs = new EpochTable();
  epochs.bump([epochTag('a'), prefixEpoch('sf', '/x')], 2_000);
  epochs.bump([epochTag('a')], 1_500);
  t.notOk(epochs.isCurrent(entry({ tags: ['a'], storedAt: 1_999 })), 'the older bump did not lower the epoch');
  t.equal(epochs.prune(2_001), 2);
  t.equal(epochs.size, 0);
  t.ok(epochs.isCurrent(entry({ tags: ['a'], storedAt: 1 })));
});

t.test('epochNames maps each invalidation target', async (t) => {
  t.same(
    epochNames({ all: true, upstream: 'sf', prefix: { upstream: 'sf', path: '/a' }, uris: [{ upstream: 'sf', path: '/b' }, { upstream: 'sf', path: '/c' }], tags: ['X:1'] }),
    ['all', 'upstream:sf', 'path:sf:/a', 'uri:sf:/b', 'uri:sf:/c', 'tag:x:1'],
  );
  t.same(epochNames({ keys: ['k'] }), [], 'keys are deleted, not epoch-bumped');
});
