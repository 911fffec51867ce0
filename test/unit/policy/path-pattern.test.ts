import t from 'tap';
import { compilePathPattern } from '../../../src/policy/path-pattern.js';

t.test('a literal pattern matches only the same path', async (t) => {
  const p = compilePathPattern('/limits');
  t.same(p.match('/limits'), {});
  t.equal(p.match('/limit'), null);
  t.equal(p.match('/limits/x'), null);
});

t.test('literal segments are case-sensitive', async (t) => {
  t.equal(compilePathPattern('/Items').match('/items'), null);
});

t.test('a trailing slash is a different path', async (t) => {
  t.equal(compilePathPattern('/items/:id').match('/items/1/'), null);
});

t.test('the root pattern matches only "/"', async (t) => {
  const p = compilePathPattern('/');
  t.same(p.match('/'), {});
  t.equal(p.match('/a'), null);
});

t.test(':name captures one segment', async (t) => {
  t.same(compilePathPattern('/sobjects/:type/:id').match('/sobjects/Account/001'), { type: 'Account', id: '001' });
});

t.test(':name does not span several segments', async (t) => {
  t.equal(compilePathPattern('/items/:id').match('/items/1/2'), null);
});

t.test(':name does not match an empty segment', async (t) => {
  t.equal(compilePathPattern('/items/:id/x').match('/items//x'), null);
});

t.test('params are percent-decoded', async (t) => {
  t.same(compilePathPattern('/q/:name').match('/q/a%20b%2Fc'), { name: 'a b/c' });
});

t.test('a malformed escape in a param is kept as written', async (t) => {
  t.same(compilePathPattern('/q/:name').match('/q/100%zz'), { name: '100%zz' });
});

t.test('a trailing * matches any number of further segments', async (t) => {
  const p = compilePathPattern('/files/*');
  t.same(p.match('/files/a'), {});
  t.same(p.match('/files/a/b/c'), {});
  t.same(p.match('/files/a/b/'), {});
  t.equal(p.match('/other/a'), null);
});

t.test('a trailing * keeps params captured before it', async (t) => {
  t.same(compilePathPattern('/repos/:owner/*').match('/repos/acme/issues/1'), { owner: 'acme' });
});

t.test('paramNames lists the params in order', async (t) => {
  const p = compilePathPattern('/a/:x/b/:y/*');
  t.same(p.paramNames, ['x', 'y']);
  t.equal(p.source, '/a/:x/b/:y/*');
});
