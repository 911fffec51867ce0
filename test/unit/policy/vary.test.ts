import t from 'tap';
import { selectingFields, selectingValues } from '../../../src/policy/vary.js';

t.test('RFC 9111 §4.1: the selecting fields of a stored response', async (t) => {
  t.same(selectingFields({ vary: 'Accept-Language, accept-encoding, X-Tenant' }), ['accept-language', 'x-tenant'], 'lower case, sorted, Accept-Encoding left to re-coding');
  t.same(selectingFields({ vary: ['Accept-Language', 'accept-language'] }), ['accept-language'], 'repeats collapse');
  t.same(selectingFields({ vary: 'accept, *' }), ['*']);
  t.same(selectingFields({}), []);
});

t.test('RFC 9111 §4.1: selecting values are normalised before comparing', async (t) => {
  const names = ['accept-language', 'x-tenant'];
  const of = (values: Record<string, string>) => selectingValues(names, (name) => values[name]);
  t.equal(of({ 'accept-language': 'fr, en;q=0.5', 'x-tenant': 'a' }), of({ 'accept-language': 'FR,en;q=0.5', 'x-tenant': 'a' }), 'whitespace around commas and case (a caseless field)');
  t.not(of({ 'x-tenant': 'A' }), of({ 'x-tenant': 'a' }), 'case kept in a field whose grammar does not fold it');
  t.not(of({ 'x-tenant': '' }), of({}), 'absent matches only absent');
  t.equal(of({}), of({}));
});
