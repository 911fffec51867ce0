import type { CacheRuleConfig } from '../config/types.js';

/**
 * Which rule an audit `action` came from. A request's action is its rule's `action` template
 * with `{param}` placeholders filled from the path (default: the rule name), so a template
 * matches any filling of its placeholders. Pure; the first rule in config order wins, as in
 * routing.
 */
export type RuleActionMatcher = (action: string) => string | undefined;

export function ruleActionMatcher(rules: readonly Pick<CacheRuleConfig, 'name' | 'action'>[]): RuleActionMatcher {
  const patterns = rules.map((rule) => ({ name: rule.name, pattern: templatePattern(rule.action ?? rule.name) }));
  return (action) => patterns.find(({ pattern }) => pattern.test(action))?.name;
}

/** `salesforce.{type}.read` → /^salesforce\..+?\.read$/ (everything else literal). */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{[A-Za-z_][A-Za-z0-9_]*\}/);
  return new RegExp(`^${parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+?')}$`);
}
