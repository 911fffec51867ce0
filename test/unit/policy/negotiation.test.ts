import t from 'tap';
import { negotiateMediaType, upstreamHeaderValue } from '../../../src/policy/negotiation.js';

const salesforce = ['application/json', 'application/xml'];

t.test('negotiateMediaType', async (t) => {
  t.test('no Accept, an empty one or */* picks the default (the first type)', async (t) => {
    t.equal(negotiateMediaType(undefined, salesforce), 'application/json');
    t.equal(negotiateMediaType('', salesforce), 'application/json');
    t.equal(negotiateMediaType('*/*', salesforce), 'application/json');
    t.equal(negotiateMediaType('application/*', salesforce), 'application/json');
  });

  t.test('jsforce, curl and fetch all land on one type', async (t) => {
    const chosen = new Set(['application/json', undefined, '*/*', '*/*'].map((accept) => negotiateMediaType(accept, salesforce)));
    t.same([...chosen], ['application/json']);
  });

  t.test('an exact type wins, in any case', async (t) => {
    t.equal(negotiateMediaType('application/xml', salesforce), 'application/xml');
    t.equal(negotiateMediaType('Application/XML', salesforce), 'application/xml');
  });

  t.test('weights decide, the most specific range giving each type its weight', async (t) => {
    t.equal(negotiateMediaType('application/json;q=0.5, application/xml', salesforce), 'application/xml');
    t.equal(negotiateMediaType('application/xml;q=0.9, */*;q=0.8', salesforce), 'application/xml');
    t.equal(negotiateMediaType('*/*, application/json;q=0', salesforce), 'application/xml', 'q=0 refuses a type a wildcard would allow');
    t.equal(negotiateMediaType('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', salesforce), 'application/xml', 'a browser');
  });

  t.test('equal weights go to the served order', async (t) => {
    t.equal(negotiateMediaType('application/xml, application/json', salesforce), 'application/json');
  });

  t.test('null when nothing served is acceptable', async (t) => {
    t.equal(negotiateMediaType('text/html', salesforce), null);
    t.equal(negotiateMediaType('application/json;q=0, application/xml;q=0', salesforce), null);
    t.equal(negotiateMediaType('*/*;q=0', salesforce), null);
  });

  t.test('null for what it cannot read with certainty', async (t) => {
    t.equal(negotiateMediaType('application/json;charset=utf-8', salesforce), null, 'a media range parameter');
    t.equal(negotiateMediaType('application/json;q=2', salesforce), null, 'weight above 1');
    t.equal(negotiateMediaType('application/json;q=0.1234', salesforce), null, 'more than 3 decimals');
    t.equal(negotiateMediaType('application/json;q = 0.5', salesforce), null, 'spaces around =');
    t.equal(negotiateMediaType('application/json;foo="a,b"', salesforce), null, 'quoted string');
    t.equal(negotiateMediaType('json', salesforce), null, 'no subtype');
    t.equal(negotiateMediaType('*/json', salesforce), null, 'wildcard type with a subtype');
    t.equal(negotiateMediaType('application/json, application/json;q=0', salesforce), null, 'a range given twice');
  });

  t.test('empty list elements are skipped', async (t) => {
    t.equal(negotiateMediaType(', application/xml ,', salesforce), 'application/xml');
  });

  t.test('no declared types: no negotiation', async (t) => {
    t.equal(negotiateMediaType('*/*', []), null);
  });
});

t.test('upstreamHeaderValue', async (t) => {
  t.test('Accept is negotiated when the upstream declares its types, else kept as sent', async (t) => {
    t.equal(upstreamHeaderValue('accept', '*/*', salesforce), 'application/json');
    t.equal(upstreamHeaderValue('accept', undefined, salesforce), 'application/json');
    t.equal(upstreamHeaderValue('accept', 'text/html', salesforce), 'text/html', 'nothing selected: raw value');
    t.equal(upstreamHeaderValue('accept', '*/*', []), '*/*');
    t.equal(upstreamHeaderValue('accept', undefined, []), undefined);
  });

  t.test('Accept-Language "*" says no more than its absence', async (t) => {
    t.equal(upstreamHeaderValue('accept-language', '*', []), undefined);
    t.equal(upstreamHeaderValue('accept-language', ' * ', []), undefined);
    t.equal(upstreamHeaderValue('accept-language', 'fr', []), 'fr');
    t.equal(upstreamHeaderValue('accept-language', '*;q=0', []), '*;q=0');
  });

  t.test('an empty value is sent as absent; anything else as sent', async (t) => {
    t.equal(upstreamHeaderValue('x-tenant', '', []), undefined);
    t.equal(upstreamHeaderValue('x-tenant', '  ', []), undefined);
    t.equal(upstreamHeaderValue('x-tenant', 'a, b', []), 'a, b');
    t.equal(upstreamHeaderValue('sforce-query-options', 'batchSize=200', salesforce), 'batchSize=200');
  });
});
