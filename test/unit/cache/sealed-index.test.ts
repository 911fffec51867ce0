import t from 'tap';
import { indexedPrefix, pathPrefixes } from '../../../src/cache/sealed-index.js';

const p = (path: string) => `path\0${path}`;

t.test('an entry path is indexed with every segment ancestor, its bare path and itself', async (t) => {
  t.same(pathPrefixes('/a/b/c?q=1'), ['/', '/a', '/a/b', '/a/b/c', '/a/b/c?q=1'].map(p));
  t.same(pathPrefixes('/'), ['/'].map(p));
  t.same(pathPrefixes('/a/'), ['/', '/a', '/a/'].map(p));
});

t.test('a listing prefix is looked up at its last whole segment, so every entry below it is among the rows', async (t) => {
  t.equal(indexedPrefix('/a/b'), p('/a'));
  t.equal(indexedPrefix('/a/b/'), p('/a/b'));
  t.equal(indexedPrefix('/a/bc'), p('/a'));
  t.equal(indexedPrefix('/'), p('/'));
  t.equal(indexedPrefix('/ite'), p('/'));
  for (const [prefix, path] of [['/a/b', '/a/b/c'], ['/a/b', '/a/bc'], ['/a/b/', '/a/b/c?x'], ['/q?x=', '/q?x=1']] as const) {
    t.ok(pathPrefixes(path).includes(indexedPrefix(prefix)), `${path} is found for ${prefix}`);
  }
});
