import t from 'tap';
import type { CacheEntry } from '../../../src/cache/entry.js';
import { preparedHead } from '../../../src/proxy/prepared-head.js';

function entry(headers: CacheEntry['headers']): CacheEntry {
  return { key: 'k', upstream: 'api', path: '/x', status: 200, headers, body: Buffer.from('hello'), storedAt: 0, expiresAt: 1, staleUntil: 1, tags: [], scope: 'shared' };
}

t.test('a prepared head: stored fields without content-length, then the hit fields, with slots for the per-response values', async (t) => {
  const stored = entry({ 'content-type': 'application/json', 'content-length': '999', link: ['<a>', '<b>'] });
  const head = preparedHead(stored);
  t.same(head.fields, ['content-type', 'application/json', 'link', ['<a>', '<b>'], 'vary', 'Accept-Encoding']);
  t.same(head.codings, [], 'no Content-Encoding: no codings');
  t.equal(head.contentLength, '5', 'the length of the stored body, not the stored field');
  t.equal(head.memoryHitHead[head.requestIdAt - 1], 'x-request-id');
  t.equal(head.memoryHitHead[head.ageAt - 1], 'age');
  t.equal(head.memoryHitHead[head.cacheStatusAt - 1], 'cache-status');
  t.same(head.memoryHitHead.slice(-2), ['content-length', '5']);
  t.equal(preparedHead(stored), head, 'prepared once per entry');
});

t.test('a body without a type gets the type Fastify gives a Buffer, so both paths answer alike', async (t) => {
  t.same(preparedHead(entry({})).fields, ['vary', 'Accept-Encoding', 'content-type', 'application/octet-stream']);
});

t.test('the stored Vary gains Accept-Encoding, and the stored codings are noted for the hit lane', async (t) => {
  const head = preparedHead(entry({ 'content-type': 'application/json', vary: 'Accept', 'content-encoding': 'gzip' }));
  t.same(head.fields, ['content-type', 'application/json', 'content-encoding', 'gzip', 'vary', 'Accept, Accept-Encoding']);
  t.same(head.codings, ['gzip']);
});
