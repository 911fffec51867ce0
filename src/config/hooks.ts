import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DEFAULTS, HooksSchema } from './schema.js';
import type { HooksConfig } from './types.js';
import { parseSize } from './units.js';

/** Where the change-feed routes live on the proxy listener; no upstream may be mounted there. */
export const HOOKS_PREFIX = '/hooks';

/**
 * Normalises `hooks:`. An enabled feed must name a configured upstream (whose write rules say
 * what a change invalidates); a feed without a secret is off, whatever else it sets.
 */
export function normaliseHooks(section: unknown, upstreamNames: readonly string[], problems: string[]): HooksConfig {
  // A section that failed the schema was reported with the rest: read it as all defaults.
  const raw: Static<typeof HooksSchema> = Value.Check(HooksSchema, section ?? {}) ? ((section ?? {}) as Static<typeof HooksSchema>) : {};
  const d = DEFAULTS.hooks;
  const hooks: HooksConfig = {
    maxBodyBytes: parseSize(raw.maxBodyBytes ?? d.maxBodyBytes),
    jira: { secret: emptyToNull(raw.jira?.secret), upstream: raw.jira?.upstream ?? d.jiraUpstream },
    salesforce: {
      secret: emptyToNull(raw.salesforce?.secret),
      organizationId: emptyToNull(raw.salesforce?.organizationId),
      upstream: raw.salesforce?.upstream ?? d.salesforceUpstream,
    },
    generic: { secret: emptyToNull(raw.generic?.secret) },
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

function emptyToNull(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}
