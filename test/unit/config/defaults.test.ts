import t from 'tap';
import { Type } from '@sinclair/typebox';
import { withDefaults } from '../../../src/config/defaults.js';

const Schema = Type.Object({
  section: Type.Object({ port: Type.Integer({ default: 8080 }), host: Type.Optional(Type.String()) }, { default: {} }),
  list: Type.Array(Type.String(), { default: ['a', 'b'] }),
  items: Type.Array(Type.Object({ on: Type.Boolean({ default: true }) })),
});

t.test('fills what is left out, at every depth; optional keys stay absent', async (t) => {
  t.same(withDefaults(Schema, {}), { section: { port: 8080 }, list: ['a', 'b'] });
  t.same(withDefaults(Schema, { items: [{}, { on: false }] }), { section: { port: 8080 }, list: ['a', 'b'], items: [{ on: true }, { on: false }] });
});

t.test('never changes a value that is present, even one of the wrong shape', async (t) => {
  t.same(withDefaults(Schema, { section: [1], list: ['x'] }), { section: [1], list: ['x'] });
  t.same(withDefaults(Schema, { section: 'no' }), { section: 'no', list: ['a', 'b'] });
});

t.test('a default is copied, never shared', async (t) => {
  const first = withDefaults(Schema, {}) as { list: string[] };
  first.list.push('c');
  t.same((withDefaults(Schema, {}) as { list: string[] }).list, ['a', 'b']);
});
