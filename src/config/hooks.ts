import type { Static } from '@sinclair/typebox';
import type { HooksSchema } from './schema/hooks.js';
import type { HooksConfig, SalesforcePubSubConfig } from './types.js';
import { parseSize } from './units.js';

/** Where the change-feed routes live on the proxy listener; no upstream may be mounted there. */
export const HOOKS_PREFIX = '/hooks';

/**
 * Normalises `hooks:`. An enabled feed must name a configured upstream (whose write rules say
 * what a change invalidates); a feed without a secret is off, whatever else it sets.
 */
export function normaliseHooks(raw: Static<typeof HooksSchema>, upstreamNames: readonly string[], problems: string[]): HooksConfig {
  const hooks: HooksConfig = {
    maxBodyBytes: parseSize(raw.maxBodyBytes),
    jira: { secret: emptyToNull(raw.jira.secret), upstream: raw.jira.upstream },
    salesforce: {
      secret: emptyToNull(raw.salesforce.secret),
      organizationId: emptyToNull(raw.salesforce.organizationId),
      upstream: raw.salesforce.upstream,
    },
    generic: { secret: emptyToNull(raw.generic.secret) },
    salesforcePubSub: normalisePubSub(raw.salesforcePubSub, upstreamNames, problems),
  };
  for (const source of ['jira', 'salesforce'] as const) {
    const { secret, upstream } = hooks[source];
    if (secret !== null && !upstreamNames.includes(upstream)) {
      problems.push(`hooks.${source}.upstream: no upstream is named "${upstream}" (configured: ${upstreamNames.join(', ')})`);
    }
  }
  if (hooks.maxBodyBytes < 1) problems.push('hooks.maxBodyBytes: must be above 0');
  return hooks;
}

/** An upstream mounted at or below `/hooks` would shadow the change feeds, or be shadowed by them. */
export function reservedPrefixProblems(upstreams: readonly unknown[]): string[] {
  const problems: string[] = [];
  upstreams.forEach((upstream, index) => {
    const prefix = typeof upstream === 'object' && upstream !== null ? (upstream as { prefix?: unknown }).prefix : undefined;
    if (typeof prefix !== 'string' || (prefix !== HOOKS_PREFIX && !prefix.startsWith(`${HOOKS_PREFIX}/`))) return;
    problems.push(`upstreams[${index}].prefix: "${prefix}" is reserved for the change feeds (POST ${HOOKS_PREFIX}/…); mount the upstream elsewhere`);
  });
  return problems;
}

/** `hooks.salesforcePubSub`: off without a clientId; otherwise exactly one sign-in flow, a known upstream, TLS unless on this host. */
function normalisePubSub(raw: Static<typeof HooksSchema>['salesforcePubSub'], upstreamNames: readonly string[], problems: string[]): SalesforcePubSubConfig | null {
  const clientId = emptyToNull(raw.clientId);
  if (clientId === null) return null;
  const at = 'hooks.salesforcePubSub';
  const clientSecret = emptyToNull(raw.clientSecret);
  const username = emptyToNull(raw.username);
  const privateKey = emptyToNull(raw.privateKey);
  const privateKeyFile = emptyToNull(raw.privateKeyFile);
  const loginUrl = raw.loginUrl.replace(/\/+$/, '');
  const { endpoint, insecure, upstream } = raw;
  const jwt = username !== null || privateKey !== null || privateKeyFile !== null;
  if (clientSecret !== null && jwt) problems.push(`${at}: set clientSecret (client credentials) or username with privateKey or privateKeyFile (JWT bearer), not both`);
  else if (clientSecret === null && !jwt) problems.push(`${at}.clientSecret: missing; set it (client credentials) or username with privateKey or privateKeyFile (JWT bearer)`);
  else if (jwt && username === null) problems.push(`${at}.username: missing; the JWT bearer flow signs in as this user`);
  else if (jwt && (privateKey === null) === (privateKeyFile === null)) problems.push(`${at}: set one of privateKey or privateKeyFile for the JWT bearer flow`);
  if (!upstreamNames.includes(upstream)) problems.push(`${at}.upstream: no upstream is named "${upstream}" (configured: ${upstreamNames.join(', ')})`);
  if (insecure && !isLoopback(endpoint.slice(0, endpoint.lastIndexOf(':')))) {
    problems.push(`${at}.insecure: plaintext gRPC is allowed only to 127.0.0.1, ::1 or localhost, not to "${endpoint}" (the access token would travel in clear)`);
  }
  const login = new URL(loginUrl);
  if (login.protocol === 'http:' && !isLoopback(login.hostname)) problems.push(`${at}.loginUrl: must be https:// (http:// only to 127.0.0.1 or localhost)`);
  const auth: SalesforcePubSubConfig['auth'] =
    clientSecret !== null
      ? { flow: 'client_credentials', clientSecret }
      : { flow: 'jwt_bearer', username: username ?? '', audience: emptyToNull(raw.audience) ?? loginUrl, privateKey, privateKeyFile };
  return {
    clientId,
    auth,
    loginUrl,
    endpoint,
    insecure,
    topic: raw.topic,
    upstream,
    batchSize: raw.batchSize,
    replayPreset: raw.replayPreset,
  };
}

function isLoopback(host: string): boolean {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host.toLowerCase());
}

function emptyToNull(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}
