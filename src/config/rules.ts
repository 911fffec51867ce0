/**
 * Checks one schema-valid cache rule beyond its shape (path pattern, templates, method/body
 * consistency) and normalises it into a `CacheRuleConfig` (milliseconds, bytes, upper-case methods).
 */
import type { RawDefaults, RawRule } from './schema.js';
import type { CacheRuleConfig } from './types.js';
import { DURATION_EXPECTED, parseDuration, parseSize } from './units.js';

export interface RuleContext {
  /** Key path of the rule in problem lines, e.g. `upstreams[0].rules[2]` or `presets.jira.rules[1]`. */
  readonly at: string;
  /** Name used when the rule has none: `<upstream>.rule<index in the effective list>`. */
  readonly defaultName: string;
  /** The `defaults.rule` section (built-in values where the file sets none): what the rule leaves out. */
  readonly defaults: RawDefaults['rule'];
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL_SEGMENT = /^[^\s?#*:][^\s?#*]*$/;
const POSITIVE_DURATION = DURATION_EXPECTED.replace('a duration', 'a duration greater than 0');

/** Returns the normalised rule; every problem found is appended to `problems` as one line. */
export function normaliseRule(raw: RawRule, ctx: RuleContext, problems: string[]): CacheRuleConfig {
  const { at, defaults } = ctx;
  const methods = unique((typeof raw.methods === 'string' ? [raw.methods] : raw.methods).map((m) => m.toUpperCase()));
  const params = pathParams(raw.path, `${at}.path`, problems);
  const { cache, bodyKey, tags, invalidates } = raw;
  checkTemplates(tags, `${at}.tags`, params, problems);
  checkTemplates(invalidates, `${at}.invalidates`, params, problems);
  const auditTemplates = { action: raw.action, resourceType: raw.resourceType, resourceId: raw.resourceId };
  for (const [key, template] of Object.entries(auditTemplates)) {
    if (template !== undefined) checkTemplates([template], `${at}.${key}`, params, problems);
  }

  const hasBody = methods.some((m) => BODY_METHODS.has(m));
  const hasUnsafe = methods.some((m) => UNSAFE_METHODS.has(m));
  if (bodyKey && !hasBody) {
    problems.push(`${at}.bodyKey: can only be true when methods include POST, PUT or PATCH`);
  } else if (cache && hasUnsafe && !bodyKey) {
    problems.push(
      hasBody
        ? `${at}.bodyKey: must be true when a POST/PUT/PATCH/DELETE rule is cacheable`
        : `${at}.cache: must be false for a DELETE rule (a DELETE response is never cached)`,
    );
  }
  if (invalidates.length > 0 && (cache || !hasUnsafe)) {
    problems.push(`${at}.invalidates: only a write rule (POST/PUT/PATCH/DELETE with cache: false) can invalidate`);
  }

  const negativeTtl = raw.negativeTtl;
  const freshness = raw.freshness ?? (raw.respectCacheControl && raw.ttl === undefined ? 'origin' : 'rule');
  if (freshness === 'origin' && !raw.respectCacheControl) {
    problems.push(`${at}.freshness: "origin" needs respectCacheControl: true (the upstream's headers decide)`);
  }
  return {
    name: raw.name ?? ctx.defaultName,
    methods,
    path: raw.path,
    query: { ...raw.query },
    cache,
    // A key the rule leaves out is inherited from defaults.rule.
    ttlMs: positiveDuration(raw.ttl ?? defaults.ttl, raw.ttl !== undefined ? `${at}.ttl` : 'defaults.rule.ttl', problems),
    scope: raw.scope ?? defaults.scope,
    vary: unique(raw.vary.map((h) => h.toLowerCase())),
    tags: [...tags],
    statuses: unique(raw.statuses ?? defaults.statuses),
    negativeTtlMs: negativeTtl === undefined ? null : positiveDuration(negativeTtl, `${at}.negativeTtl`, problems),
    maxBodyBytes: parseSize(raw.maxBodyBytes ?? defaults.maxBodyBytes),
    bodyKey,
    respectCacheControl: raw.respectCacheControl,
    freshness,
    keepExpiredMs: parseDuration(raw.keepExpired ?? defaults.keepExpired),
    staleWhileRevalidateMs: parseDuration(raw.staleWhileRevalidate ?? defaults.staleWhileRevalidate),
    staleIfErrorMs: parseDuration(raw.staleIfError ?? defaults.staleIfError),
    refreshAhead: raw.refreshAhead,
    invalidates: [...invalidates],
    action: raw.action ?? null,
    resourceType: raw.resourceType ?? null,
    resourceId: raw.resourceId ?? null,
  };
}

/** Names of the `:param` segments of a rule path; reports malformed segments. */
export function pathParams(pattern: string, at: string, problems: string[]): string[] {
  if (pattern === '/') return [];
  const params: string[] = [];
  const segments = pattern.slice(1).split('/');
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '') {
      problems.push(`${at}: must not contain empty segments ("//" or a trailing "/")`);
    } else if (segment === '.' || segment === '..') {
      problems.push(`${at}: must not contain "." or ".." segments`);
    } else if (segment === '*') {
      if (!last) problems.push(`${at}: "*" is only allowed as the last segment`);
    } else if (segment.startsWith(':')) {
      const name = segment.slice(1);
      if (!PARAM_NAME.test(name)) {
        problems.push(`${at}: parameter "${segment}" must be ":" then letters, digits or "_", not starting with a digit`);
      } else if (params.includes(name)) {
        problems.push(`${at}: parameter ":${name}" appears twice`);
      } else {
        params.push(name);
      }
    } else if (!LITERAL_SEGMENT.test(segment)) {
      problems.push(`${at}: segment "${segment}" must be a literal (no spaces, "?", "#" or "*"), a ":param" or a final "*"`);
    }
  });
  return params;
}

/** Every `{name}` of every template must be a path parameter. */
function checkTemplates(templates: readonly string[], at: string, params: readonly string[], problems: string[]): void {
  templates.forEach((template, index) => {
    for (const [, name] of template.matchAll(/\{([^{}]*)\}/g)) {
      // `{soql:q}`: the sObject types the SOQL in query parameter `q` reads (one tag each).
      if (/^soql:[A-Za-z0-9_.-]+$/.test(name as string)) continue;
      if (!params.includes(name as string)) {
        const known = params.length > 0 ? params.join(', ') : 'no params';
        problems.push(`${at}[${index}]: unknown path param "${name}" (path has: ${known})`);
      }
    }
    if (/[{}]/.test(template.replace(/\{[^{}]*\}/g, ''))) {
      problems.push(`${at}[${index}]: has an unmatched "{" or "}"`);
    }
  });
}

function positiveDuration(value: number | string, at: string, problems: string[]): number {
  const ms = parseDuration(value);
  if (ms <= 0) problems.push(`${at}: ${POSITIVE_DURATION}`);
  return ms;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
