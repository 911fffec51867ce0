import t from 'tap';
import { compileRules, fillTemplate } from '../../../src/policy/rules.js';
import { parseQuery } from '../../../src/policy/query.js';
import { rule } from '../../helpers/config.js';

const noQuery = parseQuery('');

t.test('compileRules', async (t) => {
  t.test('returns undefined when no rule matches', async (t) => {
    const rules = compileRules([rule({ path: '/items/:id' })]);
    t.equal(rules.match('GET', '/other', noQuery), undefined);
  });

  t.test('returns undefined for an empty rule list', async (t) => {
    t.equal(compileRules([]).match('GET', '/x', noQuery), undefined);
  });

  t.test('the first matching rule wins', async (t) => {
    const first = rule({ name: 'specific', path: '/items/special' });
    const second = rule({ name: 'generic', path: '/items/:id' });
    const rules = compileRules([first, second]);
    t.equal(rules.match('GET', '/items/special', noQuery)?.rule, first);
    t.equal(rules.match('GET', '/items/7', noQuery)?.rule, second);
  });

  t.test('a later rule is not consulted once an earlier one matched', async (t) => {
    const generic = rule({ name: 'generic', path: '/items/*' });
    const specific = rule({ name: 'specific', path: '/items/special' });
    t.equal(compileRules([generic, specific]).match('GET', '/items/special', noQuery)?.rule.name, 'generic');
  });

  t.test('skips a rule whose methods do not include the request method', async (t) => {
    const rules = compileRules([rule({ name: 'get', path: '/x' })]);
    t.equal(rules.match('POST', '/x', noQuery), undefined);
    t.equal(rules.match('GET', '/x', noQuery)?.rule.name, 'get');
  });

  t.test('falls through to a later rule for another method', async (t) => {
    const rules = compileRules([
      rule({ name: 'reads', path: '/x' }),
      rule({ name: 'query', path: '/x', methods: ['POST'] }),
    ]);
    t.equal(rules.match('POST', '/x', noQuery)?.rule.name, 'query');
  });

  t.test('method matching is exact (methods are upper-case)', async (t) => {
    t.equal(compileRules([rule({ path: '/x' })]).match('get', '/x', noQuery), undefined);
  });

  t.test('a string query condition requires that value', async (t) => {
    const rules = compileRules([rule({ path: '/search', query: { type: 'account' } })]);
    t.ok(rules.match('GET', '/search', parseQuery('type=account&q=x')));
    t.equal(rules.match('GET', '/search', parseQuery('type=contact')), undefined);
    t.equal(rules.match('GET', '/search', noQuery), undefined);
  });

  t.test('a string query condition compares the decoded value', async (t) => {
    const rules = compileRules([rule({ path: '/s', query: { q: 'a b' } })]);
    t.ok(rules.match('GET', '/s', parseQuery('q=a+b')));
    t.ok(rules.match('GET', '/s', parseQuery('q=a%20b')));
  });

  t.test('a string query condition checks the first value of a repeated name', async (t) => {
    const rules = compileRules([rule({ path: '/s', query: { v: '1' } })]);
    t.ok(rules.match('GET', '/s', parseQuery('v=1&v=2')));
    t.equal(rules.match('GET', '/s', parseQuery('v=2&v=1')), undefined);
  });

  t.test('query condition true requires the parameter to be present', async (t) => {
    const rules = compileRules([rule({ path: '/s', query: { fields: true } })]);
    t.ok(rules.match('GET', '/s', parseQuery('fields=')));
    t.ok(rules.match('GET', '/s', parseQuery('fields')));
    t.equal(rules.match('GET', '/s', parseQuery('other=1')), undefined);
  });

  t.test('query condition false requires the parameter to be absent', async (t) => {
    const rules = compileRules([rule({ path: '/s', query: { nocache: false } })]);
    t.ok(rules.match('GET', '/s', parseQuery('a=1')));
    t.equal(rules.match('GET', '/s', parseQuery('nocache=1')), undefined);
    t.equal(rules.match('GET', '/s', parseQuery('nocache')), undefined);
  });

  t.test('every query condition must hold', async (t) => {
    const rules = compileRules([rule({ path: '/s', query: { a: '1', b: true, c: false } })]);
    t.ok(rules.match('GET', '/s', parseQuery('a=1&b=x')));
    t.equal(rules.match('GET', '/s', parseQuery('a=1')), undefined);
    t.equal(rules.match('GET', '/s', parseQuery('a=1&b=x&c=y')), undefined);
  });

  t.test('a rule failing its query condition falls through to the next rule', async (t) => {
    const rules = compileRules([
      rule({ name: 'with-fields', path: '/s', query: { fields: true } }),
      rule({ name: 'plain', path: '/s' }),
    ]);
    t.equal(rules.match('GET', '/s', noQuery)?.rule.name, 'plain');
    t.equal(rules.match('GET', '/s', parseQuery('fields=a'))?.rule.name, 'with-fields');
  });

  t.test('returns decoded path params', async (t) => {
    const m = compileRules([rule({ path: '/sobjects/:type/:id' })]).match('GET', '/sobjects/My%20Type/00%2F1', noQuery);
    t.same(m?.params, { type: 'My Type', id: '00/1' });
  });

  t.test('a * rule matches deeper paths', async (t) => {
    const rules = compileRules([rule({ path: '/api/*' })]);
    t.ok(rules.match('GET', '/api/a/b/c', noQuery));
    t.equal(rules.match('GET', '/other/a', noQuery), undefined);
  });

  t.test('fills tag templates from the path params', async (t) => {
    const m = compileRules([rule({ path: '/sobjects/:type/:id', tags: ['sf:{type}:{id}', 'sf:{type}', 'all'] })]).match(
      'GET',
      '/sobjects/Account/001',
      noQuery,
    );
    t.same(m?.tags, ['sf:Account:001', 'sf:Account', 'all']);
  });

  t.test('returns no tags for a rule without tags', async (t) => {
    t.same(compileRules([rule({ path: '/x' })]).match('GET', '/x', noQuery)?.tags, []);
  });
});

t.test('fillTemplate', async (t) => {
  t.test('replaces every known placeholder', async (t) => {
    t.equal(fillTemplate('sf:{type}:{id}:{type}', { type: 'A', id: '1' }), 'sf:A:1:A');
  });

  t.test('leaves unknown placeholders as written', async (t) => {
    t.equal(fillTemplate('x:{missing}:{id}', { id: '1' }), 'x:{missing}:1');
  });

  t.test('leaves text without placeholders unchanged', async (t) => {
    t.equal(fillTemplate('static-tag', { id: '1' }), 'static-tag');
  });

  t.test('does not re-expand placeholders that appear in param values', async (t) => {
    t.equal(fillTemplate('{a}:{b}', { a: '{b}', b: 'B' }), '{b}:B');
  });

  t.test('does not read inherited properties as params', async (t) => {
    t.equal(fillTemplate('{constructor}:{toString}', {}), '{constructor}:{toString}');
  });
});

t.test('fillTags expands {soql:q} into one tag per sObject type the query reads', async (t) => {
  const { fillTags } = await import('../../../src/policy/rules.js');
  const { parseQuery } = await import('../../../src/policy/query.js');
  const query = parseQuery(`q=${encodeURIComponent('SELECT Id, Account.Name, (SELECT Id FROM Cases) FROM Contact')}`);
  t.same(fillTags('sf:query:{soql:q}', {}, query), ['sf:query:Contact', 'sf:query:Account', 'sf:query:Case']);
  t.same(fillTags('sf:query:{soql:q}', {}, parseQuery('q=not+soql')), [], 'unparseable SOQL gives no tag');
  t.same(fillTags('sf:{type}:{id}', { type: 'Account', id: '001' }, []), ['sf:Account:001']);
});
