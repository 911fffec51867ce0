import t from 'tap';
import { rewriteOAuthUrls } from '../../../src/policy/oauth-urls.js';

const PUBLIC = 'https://sidecache.internal/salesforce';

t.test('a token response: instance_url becomes the public URL, id keeps its path; tokens untouched', async (t) => {
  const token = {
    access_token: '00Dxx!secret',
    refresh_token: '5Aep-refresh',
    instance_url: 'https://acme.my.salesforce.com',
    id: 'https://login.salesforce.com/id/00D000000000001/005000000000001',
    token_type: 'Bearer',
    issued_at: '1700000000000',
    signature: 'sig=',
  };
  const out = rewriteOAuthUrls(JSON.stringify(token), PUBLIC);
  t.equal(out?.instanceOrigin, 'https://acme.my.salesforce.com');
  t.same(JSON.parse(out!.body), { ...token, instance_url: PUBLIC, id: `${PUBLIC}/id/00D000000000001/005000000000001` });
});

t.test('userinfo: urls, profile and sub move onto the proxy; templates and content hosts are kept', async (t) => {
  const info = {
    sub: 'https://login.salesforce.com/id/00D/005',
    profile: 'https://acme.my.salesforce.com/005',
    picture: 'https://acme--c.documentforce.com/profilephoto/005/F',
    urls: { rest: 'https://acme.my.salesforce.com/services/data/v{version}/', custom_domain: 'https://acme.my.salesforce.com' },
  };
  const out = JSON.parse(rewriteOAuthUrls(JSON.stringify(info), PUBLIC)!.body);
  t.same(out, {
    sub: `${PUBLIC}/id/00D/005`,
    profile: `${PUBLIC}/005`,
    picture: info.picture,
    urls: { rest: `${PUBLIC}/services/data/v{version}/`, custom_domain: PUBLIC },
  });
});

t.test('anything but a JSON object is left alone', async (t) => {
  t.equal(rewriteOAuthUrls('<html>', PUBLIC), null);
  t.equal(rewriteOAuthUrls('[1]', PUBLIC), null);
  t.equal(rewriteOAuthUrls('{"error":"invalid_grant"}', PUBLIC)?.instanceOrigin, null);
});
