import t from 'tap';
import { effectiveMethod } from '../../../src/policy/method-override.js';
import { parseQuery } from '../../../src/policy/query.js';

t.test('a POST naming PATCH, PUT or DELETE in _HttpMethod is that method', async (t) => {
  t.equal(effectiveMethod('POST', parseQuery('_HttpMethod=PATCH'), undefined), 'PATCH');
  t.equal(effectiveMethod('POST', parseQuery('a=1&_HttpMethod=DELETE'), undefined), 'DELETE');
  t.equal(effectiveMethod('POST', parseQuery('_httpmethod=patch'), undefined), 'PATCH', 'name and value in any case');
  t.equal(effectiveMethod('POST', parseQuery('_HTTPMETHOD=%20Put%20'), undefined), 'PUT', 'encoded and padded');
  t.equal(effectiveMethod('POST', parseQuery('_HttpMethod=GET&_HttpMethod=DELETE'), undefined), 'DELETE', 'any repeat naming a write counts');
});

t.test('the X-HTTP-Method-Override header counts when the query names nothing', async (t) => {
  t.equal(effectiveMethod('POST', [], 'PATCH'), 'PATCH');
  t.equal(effectiveMethod('POST', [], 'delete'), 'DELETE');
  t.equal(effectiveMethod('POST', parseQuery('_HttpMethod=DELETE'), 'PATCH'), 'DELETE', 'the query parameter first');
});

t.test('anything else keeps the request method', async (t) => {
  t.equal(effectiveMethod('POST', [], undefined), 'POST');
  t.equal(effectiveMethod('POST', parseQuery('_HttpMethod=GET'), 'HEAD'), 'POST', 'a POST never becomes a read (it could then be cached)');
  t.equal(effectiveMethod('POST', parseQuery('_HttpMethod=TRACE'), undefined), 'POST');
  t.equal(effectiveMethod('POST', parseQuery('x_HttpMethod=PATCH&_HttpMethodX=DELETE'), undefined), 'POST', 'other parameter names');
  t.equal(effectiveMethod('GET', parseQuery('_HttpMethod=DELETE'), 'PATCH'), 'GET', 'only a POST tunnels another method');
  t.equal(effectiveMethod('PUT', parseQuery('_HttpMethod=DELETE'), undefined), 'PUT');
});
