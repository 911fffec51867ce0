/** Normalises one schema-valid `upstreams[]` entry over the `defaults:` section and its preset. */
import type { Context } from './normalise.js';
import { appendKey } from './problems.js';
import { legacyLimit, normaliseProtection, normaliseRateLimit } from './protection.js';
import { normaliseRule } from './rules.js';
import type { RawDefaults, RawRule, RawUpstream } from './schema.js';
import { TOKEN } from './schema/kit.js';
import type { CacheRuleConfig, UpstreamConfig } from './types.js';
import { parseDuration } from './units.js';

export function normaliseUpstream(raw: RawUpstream, index: number, defaults: RawDefaults, ctx: Context): UpstreamConfig {
  const at = `upstreams[${index}]`;
  const pool = { ...defaults.pool, ...raw.pool };
  // Read when first needed, so its problems are listed where they always were.
  const preset = () => (raw.preset === undefined ? undefined : ctx.presets.preset(raw.preset));
  return {
    name: raw.name,
    prefix: raw.prefix,
    target: normaliseTarget(raw, index, ctx),
    publicUrl: normalisePublicUrl(raw.publicUrl, `${at}.publicUrl`, ctx.problems),
    quotaSaver: raw.quotaSaver,
    pool: {
      connections: pool.connections,
      connectTimeoutMs: parseDuration(pool.connectTimeout),
      headersTimeoutMs: parseDuration(pool.headersTimeout),
      bodyTimeoutMs: parseDuration(pool.bodyTimeout),
      keepAliveTimeoutMs: parseDuration(pool.keepAliveTimeout),
    },
    requestHeaders: {
      add: normaliseHeaderMap(raw.requestHeaders.add, `${at}.requestHeaders.add`, ctx.problems),
      remove: lowerUnique(raw.requestHeaders.remove),
    },
    clientNoCache: raw.clientNoCache,
    vary: lowerUnique([...raw.vary, ...(preset()?.vary ?? [])]),
    // Neither the upstream nor its preset names any: `Accept` is keyed and forwarded as sent.
    mediaTypes: lowerUnique(raw.mediaTypes ?? preset()?.mediaTypes ?? []),
    protection: normaliseProtection(
      {
        defaults: legacyLimit(defaults.protection, 'defaults.protection', ctx),
        own: legacyLimit(raw.protection ?? {}, `${at}.protection`, ctx),
      },
      { at: `${at}.protection`, connections: pool.connections },
      ctx.problems,
    ),
    rateLimit: raw.rateLimit === undefined || !raw.rateLimit.enabled ? null : normaliseRateLimit(raw.rateLimit),
    rules: effectiveRules(raw, at, defaults, ctx),
  };
}

/** Two upstreams may not share a name or a prefix. */
export function checkUnique(items: readonly unknown[], key: string, label: string, problems: string[]): void {
  const seen = new Map<unknown, number>();
  items.forEach((item, index) => {
    const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
    if (typeof value !== 'string') return;
    const first = seen.get(value);
    if (first === undefined) seen.set(value, index);
    else problems.push(`upstreams[${index}].${key}: duplicate ${label} "${value}" (also upstreams[${first}].${key})`);
  });
}

export function lowerUnique(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.toLowerCase()))];
}

/**
 * The upstream's own rules first, then its preset's; names must be unique in the result. An
 * `overrides` entry is merged over the rule of that name; one naming no rule is a problem.
 */
function effectiveRules(raw: RawUpstream, at: string, defaults: RawDefaults, ctx: Context): CacheRuleConfig[] {
  const sources: { rule: RawRule; at: string }[] = raw.rules.map((rule, i) => ({ rule, at: `${at}.rules[${i}]` }));
  if (raw.preset !== undefined) {
    const rules = ctx.presets.rules(raw.preset);
    if (rules === undefined) {
      const available = ctx.presets.available();
      const list = available.length > 0 ? available.join(', ') : 'none';
      ctx.problems.push(`${at}.preset: unknown preset "${raw.preset}" (available: ${list})`);
    } else {
      sources.push(...rules.map((rule, i) => ({ rule, at: `presets.${raw.preset}.rules[${i}]` })));
    }
  }
  const names = sources.map((source) => source.rule.name).filter((name) => name !== undefined);
  for (const name of Object.keys(raw.overrides)) {
    if (!names.includes(name)) ctx.problems.push(`${appendKey(`${at}.overrides`, name)}: no rule of this upstream is named "${name}" (rules: ${names.join(', ') || 'none'})`);
  }
  const seen = new Map<string, string>();
  return sources.map((source, i) => {
    const override = source.rule.name === undefined ? undefined : raw.overrides[source.rule.name];
    const merged = override === undefined ? source.rule : { ...source.rule, ...override };
    const ruleAt = override === undefined ? source.at : `${source.at} (with ${appendKey(`${at}.overrides`, source.rule.name!)})`;
    const rule = normaliseRule(merged, { at: ruleAt, defaultName: `${raw.name}.rule${i}`, defaults: defaults.rule }, ctx.problems);
    const first = seen.get(rule.name);
    if (first !== undefined) ctx.problems.push(`${source.at}.name: duplicate rule name "${rule.name}" (also ${first})`);
    else seen.set(rule.name, source.at);
    return rule;
  });
}

/** An empty target disables the upstream with a warning; anything else must be an http(s) URL. */
function normaliseTarget(raw: RawUpstream, index: number, ctx: Context): URL | null {
  const unset = ctx.unset
    .filter((u) => u.path.length === 3 && u.path[0] === 'upstreams' && u.path[1] === index && u.path[2] === 'target')
    .map((u) => u.name);
  const notSet = unset.length > 0 ? `${unset.join(', ')} ${unset.length > 1 ? 'are' : 'is'} not set` : '';
  if (raw.target.trim() === '') {
    ctx.warnings.push(`upstream "${raw.name}" is disabled: ${notSet || 'its target is empty'}`);
    return null;
  }
  const url = parseTarget(raw.target);
  if (typeof url === 'string') ctx.problems.push(`upstreams[${index}].target: ${url}`);
  return typeof url === 'string' ? null : url;
}

/** An optional public URL: absolute http(s), no query, fragment or credentials; kept without a trailing "/". */
function normalisePublicUrl(text: string | undefined, at: string, problems: string[]): string | null {
  if (text === undefined || text.trim() === '') return null;
  const url = parseTarget(text);
  if (typeof url === 'string') {
    problems.push(`${at}: ${url}`);
    return null;
  }
  return url.href.replace(/\/+$/, '');
}

function parseTarget(text: string): URL | string {
  const expected = 'must be an absolute http(s) URL';
  if (!/^https?:\/\/[^/\s]/i.test(text) || /\s/.test(text)) return expected;
  if (/[?#]/.test(text)) return `${expected} without a query or fragment`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return expected;
  }
  if (url.username !== '' || url.password !== '') return `${expected} without credentials (send them as request headers)`;
  url.pathname = url.pathname.replace(/\/+$/, '') || '/';
  return url;
}

const HEADER_TOKEN = new RegExp(TOKEN);

function normaliseHeaderMap(headers: Readonly<Record<string, string>>, at: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const here = appendKey(at, name);
    if (!HEADER_TOKEN.test(name)) problems.push(`${here}: must be an HTTP header name such as "x-request-id"`);
    else if (Object.hasOwn(out, lower)) problems.push(`${here}: header "${lower}" is set twice`);
    else out[lower] = value;
  }
  return out;
}
