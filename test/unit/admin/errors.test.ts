import t from 'tap';
import { validationMessage } from '../../../src/admin/errors.js';

const schema = {
  properties: {
    limit: { description: 'expected an integer from 1 to 1000' },
    'a/b': { description: 'expected a slashed name' },
    cursor: {},
  },
};

t.test('validationMessage names each offending parameter once, in order', async (t) => {
  t.equal(
    validationMessage(
      [
        { keyword: 'maximum', instancePath: '/limit', params: { limit: 1000 }, message: 'must be <= 1000' },
        { keyword: 'type', instancePath: '/limit', params: {}, message: 'must be integer' },
        { keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'foo' }, message: 'must NOT have additional properties' },
      ],
      schema,
    ),
    'limit: expected an integer from 1 to 1000; foo: unknown parameter (allowed: limit, a/b, cursor)',
  );
});

t.test('missing properties, JSON-pointer escapes, and Ajv’s message when there is no description', async (t) => {
  t.equal(validationMessage([{ keyword: 'required', instancePath: '', params: { missingProperty: 'limit' } }], schema), 'limit: is required (expected an integer from 1 to 1000)');
  t.equal(validationMessage([{ keyword: 'pattern', instancePath: '/a~1b', params: {} }], schema), 'a/b: expected a slashed name');
  t.equal(validationMessage([{ keyword: 'pattern', instancePath: '/cursor', params: {}, message: 'must match pattern' }], schema), 'cursor: must match pattern');
  t.equal(validationMessage([{ keyword: 'type', instancePath: '', params: {}, message: 'must be object' }], undefined), 'request: must be object');
  t.equal(validationMessage([{ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'x' } }], undefined), 'x: unknown parameter');
});
