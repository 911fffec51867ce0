import { Type } from '@sinclair/typebox';
import { Bool, Enum, Section, Size, Unset } from './kit.js';

// Each change feed is off (its route absent) while its secret is empty.
const HookSecret = () => Unset('must be a string (empty: this change feed is off)');
const UpstreamName = (fallback: string) =>
  Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', errorMessage: 'must be the name of a configured upstream', default: fallback });

/** `hooks:`, the change feeds that invalidate what changed outside sidecache. */
export const HooksSchema = Section({
  maxBodyBytes: Size('1MB'),
  jira: Section({ secret: HookSecret(), upstream: UpstreamName('jira') }),
  salesforce: Section({
    secret: HookSecret(),
    // Empty: outbound messages are off (their OrganizationId cannot be checked).
    organizationId: Unset('must be a 15- or 18-character Salesforce org id (00D…)', '^(?:[A-Za-z0-9]{15}|[A-Za-z0-9]{18})?$'),
    upstream: UpstreamName('salesforce'),
  }),
  generic: Section({ secret: HookSecret() }),
  // The Pub/Sub API subscriber (README "Salesforce Change Data Capture"); off while clientId is empty.
  salesforcePubSub: Section({
    clientId: Unset("must be a string: the connected app's consumer key (empty: the subscriber is off)"),
    // Client credentials flow.
    clientSecret: Unset('must be a string'),
    // JWT bearer flow: the integration user and the key the connected app's certificate belongs to.
    username: Unset('must be a Salesforce username'),
    privateKey: Unset('must be a PEM RSA private key'),
    privateKeyFile: Unset('must be a file path'),
    // Absent: the login URL.
    audience: Unset('must be a URL such as "https://login.salesforce.com"', '^https?://'),
    loginUrl: Type.String({ pattern: '^https?://[^/?#]+/?$', errorMessage: 'must be an origin such as "https://mydomain.my.salesforce.com"', default: 'https://login.salesforce.com' }),
    endpoint: Type.String({ pattern: '^[A-Za-z0-9.-]+:[0-9]{1,5}$', errorMessage: 'must be host:port such as "api.pubsub.salesforce.com:7443"', default: 'api.pubsub.salesforce.com:7443' }),
    insecure: Bool(false),
    topic: Type.String({ pattern: '^/(?:data|event)/[A-Za-z0-9_]+$', errorMessage: 'must be a channel such as "/data/ChangeEvents" or "/data/Sidecache__chn"', default: '/data/ChangeEvents' }),
    upstream: UpstreamName('salesforce'),
    batchSize: Type.Integer({ minimum: 1, maximum: 100, errorMessage: 'must be an integer from 1 to 100 (the Pub/Sub API maximum)', default: 100 }),
    replayPreset: Enum(['LATEST', 'EARLIEST'] as const, 'LATEST'),
  }),
});
