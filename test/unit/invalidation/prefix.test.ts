import t from 'tap';
import { EpochTable } from '../../../src/invalidation/epochs.js';
import { epochNames } from '../../../src/invalidation/invalidator.js';
import { normalisePrefix, prefixReachesPattern, prefixShapeProblem } from '../../../src/invalidation/prefix.js';
import type { CacheEntry } from '../../../src/cache/entry.js';

t.test('normalisePrefix drops trailing slashes, never the root', async (t) => {
  const cases: Array<[string, string]> = [
    ['/rest/api/3/issue/', '/rest/api/3/issue'],
    ['/rest/api/3/issue//', '/rest/api/3/issue'],
    ['/rest/api/3/issue', '/rest/api/3/issue'],
    ['/', '/'],
    ['//', '/'],
    ['/a//b/', '/a//b'],
  ];
  for (const [input, expected] of cases) t.equal(normalisePrefix(input), expected, JSON.stringify(input));
});

t.test('a trailing-slash prefix epoch reaches the entries below it (the reported no-op)', async (t) => {
  const entry = { upstream: 'jira', path: '/rest/api/3/issue/PROJ-1?fields=summary', tags: [], storedAt: 1_000 } as unknown as CacheEntry;
  const table = new EpochTable();
  table.bump(epochNames({ prefix: { upstream: 'jira', path: '/rest/api/3/issue/' } }), 2_000);
  t.equal(table.isCurrent(entry), false);
  t.same(epochNames({ prefix: { upstream: 'jira', path: '/rest/api/3/issue/' } }), ['path:jira:/rest/api/3/issue']);
});

t.test('prefixShapeProblem names what no cached path can contain', async (t) => {
  t.equal(prefixShapeProblem('/rest/api/3/issue/'), null);
  t.equal(prefixShapeProblem('/a%20b/c;v=1'), null);
  t.match(prefixShapeProblem('rest'), /start with "\/"/);
  t.match(prefixShapeProblem('/a?b=1'), /without "\?query"/);
  t.match(prefixShapeProblem('/a#b'), /#fragment/);
  t.match(prefixShapeProblem('/a b'), /spaces or control/);
  t.match(prefixShapeProblem('/a\tb'), /spaces or control/);
  for (const dots of ['/a/../b', '/a/./b', '/..', '/a/%2E%2e', '/a/.%2e/b']) t.match(prefixShapeProblem(dots), /"\." or "\.\." segments/, dots);
  t.equal(prefixShapeProblem('/a/...'), null, 'three dots is an ordinary segment');
});

t.test('prefixReachesPattern: whole segments, params take one non-empty segment, * the rest', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['/rest/api/3/issue', '/rest/api/3/issue/:key', true],
    ['/rest/api/3/issue/PROJ-1', '/rest/api/3/issue/:key', true],
    ['/rest/api', '/rest/api/3/issue/:key', true],
    ['/', '/rest/api/3/issue/:key', true],
    ['/rest/api/3/iss', '/rest/api/3/issue/:key', false],
    ['/rest/api/3/issue/PROJ-1/comment', '/rest/api/3/issue/:key', false],
    ['/jira/rest/api/3/issue', '/rest/api/3/issue/:key', false],
    ['/services/data/v59.0/sobjects/Account/001', '/services/data/:v/sobjects/:type/:id', true],
    ['/services/data/v59.0/query', '/services/data/:v/sobjects/:type/:id', false],
    ['/files/a/b/c/d', '/files/*', true],
    ['/files', '/files/*', true],
    ['/other', '/files/*', false],
    ['/anything/at/all', '/*', true],
  ];
  for (const [prefix, pattern, expected] of cases) t.equal(prefixReachesPattern(prefix, pattern), expected, `${prefix} under ${pattern}`);
});
