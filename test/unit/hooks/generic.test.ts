import t from 'tap';
import { SidecacheError } from '../../../src/errors.js';
import { genericTarget } from '../../../src/hooks/generic.js';

const upstreams = [{ name: 'jira', prefix: '/jira', rules: [{ path: '/rest/api/3/issue/:key', cache: true }] }];

function refusal(body: unknown): { status: number; message: string } {
  try {
    genericTarget(body, upstreams);
  } catch (err) {
    if (err instanceof SidecacheError) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error('the body was accepted');
}

t.test('the body of POST /admin/invalidate is accepted as it is there', async (t) => {
  t.same(genericTarget({ tags: ['sf:Account:001', 'jira:search'] }, upstreams), { tags: ['sf:Account:001', 'jira:search'] });
  t.same(genericTarget({ upstream: 'jira', prefix: '/rest/api/3/issue/' }, upstreams), { prefix: { upstream: 'jira', path: '/rest/api/3/issue' } });
  t.same(genericTarget({ upstream: 'jira' }, upstreams), { upstream: 'jira' });
  t.same(genericTarget({ key: 'k1' }, upstreams), { keys: ['k1'] });
  t.same(genericTarget({ all: true }, upstreams), { all: true });
});

t.test('what the admin route refuses is refused, naming what was wrong', async (t) => {
  t.same(refusal({ all: 'true' }), { status: 400, message: 'all must be boolean; all must be equal to constant' });
  t.match(refusal({ tags: 'x' }).message, /^tags must be array/);
  t.match(refusal({ tag: ['x'] }).message, /^body must NOT have additional properties \(tag\)/);
  t.match(refusal([]).message, /^body must be object/);
  t.match(refusal({}).message, /name at least one of/);
  t.match(refusal({ upstream: 'nope' }).message, /unknown upstream "nope"/);
  t.equal(refusal({ upstream: 'jira', prefix: '/rest/api/2/field' }).status, 422, 'a prefix nothing can be cached under');
});
