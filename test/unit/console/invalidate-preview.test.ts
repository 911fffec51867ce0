import t from 'tap';
import { describeTarget, requestBody } from '../../../console/src/screens/invalidate-preview.js';

t.test('each form becomes the POST /admin/invalidate body, and is named in the confirmation', async (t) => {
  t.same(requestBody({ kind: 'key', key: 'api:shared:abc' }), { key: 'api:shared:abc' });
  t.same(requestBody({ kind: 'prefix', upstream: 'jira', prefix: '/rest/api/3/issue' }), { upstream: 'jira', prefix: '/rest/api/3/issue' });
  t.same(requestBody({ kind: 'tags', tags: ['a', 'b'] }), { tags: ['a', 'b'] });
  t.same(requestBody({ kind: 'tags', tags: ['a'], upstream: 'jira' }), { upstream: 'jira', tags: ['a'] });
  t.same(requestBody({ kind: 'upstream', upstream: 'jira' }), { upstream: 'jira' });
  t.same(requestBody({ kind: 'all' }), { all: true });

  t.equal(describeTarget({ kind: 'tags', tags: ['a', 'b'], upstream: 'jira' }), 'every entry tagged "a" or "b" in upstream "jira"');
  t.equal(describeTarget({ kind: 'prefix', upstream: 'jira', prefix: '/x' }), 'every entry of upstream "jira" at or below /x');
  t.match(describeTarget({ kind: 'all' }), /EVERY/);
});
