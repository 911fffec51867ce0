import type { CacheRuleConfig } from '../config/types.js';
import { compilePathPattern, splitPath, type PathPattern } from './path-pattern.js';
import { soqlObjects } from './soql.js';
import { queryValue, type QueryPairs } from './query.js';

/** The rule that governs a request, with its path params and filled-in tags. */
export interface RuleMatch {
  readonly rule: CacheRuleConfig;
  readonly params: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
}

/** An upstream's ordered rules, compiled once; the first rule that matches wins. */
export interface RuleSet {
  match(method: string, path: string, query: QueryPairs): RuleMatch | undefined;
}

interface CompiledRule {
  readonly rule: CacheRuleConfig;
  readonly methods: ReadonlySet<string>;
  readonly pattern: PathPattern;
  readonly query: ReadonlyArray<readonly [string, string | boolean]>;
}

export function compileRules(rules: readonly CacheRuleConfig[]): RuleSet {
  const compiled: CompiledRule[] = rules.map((rule) => ({
    rule,
    methods: new Set(rule.methods),
    pattern: compilePathPattern(rule.path),
    query: Object.entries(rule.query),
  }));

  return {
    match(method, path, query) {
      const segments = splitPath(path);
      for (const candidate of compiled) {
        if (!candidate.methods.has(method) || !queryMatches(candidate.query, query)) continue;
        const params = candidate.pattern.matchSegments(segments);
        if (params === null) continue;
        return { rule: candidate.rule, params, tags: candidate.rule.tags.flatMap((t) => fillTags(t, params, query)) };
      }
      return undefined;
    },
  };
}

function queryMatches(conditions: CompiledRule['query'], query: QueryPairs): boolean {
  for (const [name, condition] of conditions) {
    const value = queryValue(query, name);
    if (condition === true ? value === undefined : condition === false ? value !== undefined : value !== condition) {
      return false;
    }
  }
  return true;
}

/**
 * Tags from one template: `{param}` from path params, and `{soql:q}` once per sObject type the
 * SOQL in query parameter `q` reads (so a query over Account and Contact gets a tag for each).
 */
export function fillTags(template: string, params: Readonly<Record<string, string>>, query: QueryPairs): string[] {
  const soql = /\{soql:([A-Za-z0-9_.-]+)\}/.exec(template);
  if (soql === null) return [fillTemplate(template, params)];
  const objects = soqlObjects(queryValue(query, soql[1]!) ?? '');
  return objects.map((object) => fillTemplate(template.replace(soql[0], object), params));
}

/** Fills `{param}` placeholders (`sf:{type}:{id}`) from path params; unknown names stay as written. */
export function fillTemplate(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? params[name]! : whole,
  );
}
