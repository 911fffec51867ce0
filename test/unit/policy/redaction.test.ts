import t from 'tap';
import { REDACT_QUERY_PARAMS } from '../../../src/config/schema.js';
import { isSecretParam, redactQuery, redactUrl } from '../../../src/policy/redaction.js';

const configured = new Set<string>(REDACT_QUERY_PARAMS);
const none = new Set<string>();

t.test('the issue 11 list is redacted by pattern, whatever the configured list says', async (t) => {
  const cases: Array<[string, string]> = [
    ['oauth_token=s3cr3t', 'oauth_token=[REDACTED]'],
    ['jwt=eyJhbGciOi.s3cr3t', 'jwt=[REDACTED]'],
    ['X-Amz-Signature=s3cr3t&X-Amz-Date=20260101', 'X-Amz-Signature=[REDACTED]&X-Amz-Date=20260101'],
    ['auth=s3cr3t', 'auth=[REDACTED]'],
    ['access_token[]=s3cr3t&access_token[]=s3cr3t2', 'access_token[]=[REDACTED]&access_token[]=[REDACTED]'],
    ['access_token%5B%5D=s3cr3t', 'access_token%5B%5D=[REDACTED]'],
    ['a[token]=s3cr3t', 'a[token]=[REDACTED]'],
    ['x=1;access_token=s3cr3t', 'x=1;access_token=[REDACTED]'],
    ['x=1;access_token=s3cr3t;y=2', 'x=1;access_token=[REDACTED];y=2'],
    ['token=admin-token', 'token=[REDACTED]'],
    ['client_secret=s3cr3t', 'client_secret=[REDACTED]'],
    ['PassWord=s3cr3t', 'PassWord=[REDACTED]'],
    ['api-key=s3cr3t', 'api-key=[REDACTED]'],
    ['Authorization=Bearer+s3cr3t', 'Authorization=[REDACTED]'],
    ['%74oken=s3cr3t', '%74oken=[REDACTED]'],
    ['%2574oken=s3cr3t', '%2574oken=[REDACTED]'],
    ['token=a=b=s3cr3t', 'token=[REDACTED]'],
  ];
  for (const [raw, expected] of cases) {
    t.equal(redactQuery(raw, none), expected, raw);
    t.notMatch(redactQuery(raw, configured), /s3cr3t|admin-token/, `${raw}: no secret left`);
  }
});

t.test('the configured list adds exact names, also inside array forms', async (t) => {
  t.equal(redactQuery('code=abc&sid=1&x=2', configured), 'code=[REDACTED]&sid=[REDACTED]&x=2');
  t.equal(redactQuery('sid[]=1&a[sid]=2&a[b][code]=3', configured), 'sid[]=[REDACTED]&a[sid]=[REDACTED]&a[b][code]=[REDACTED]');
  t.equal(redactQuery('code=abc', none), 'code=abc', 'code is not a pattern word');
  t.equal(isSecretParam('Session', configured), true, 'any case');
});

t.test('ordinary parameters and shapes are left as they are', async (t) => {
  const kept = [
    'q=SELECT+Id+FROM+Account',
    'fields=summary,status&maxResults=50',
    'a=1&&b=2',
    'flag&x',
    'token=',
    'x=%ZZ',
    '',
  ];
  for (const raw of kept) t.equal(redactQuery(raw, configured), raw, JSON.stringify(raw));
});

t.test('redactUrl keeps the path and redacts the query', async (t) => {
  t.equal(redactUrl('/admin/stats?token=abc&x=1', none), '/admin/stats?token=[REDACTED]&x=1');
  t.equal(redactUrl('/admin/stats', none), '/admin/stats');
  t.equal(redactUrl('/a/token/b?', none), '/a/token/b?');
});
