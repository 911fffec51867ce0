import { SidecacheError } from '../errors.js';
import { effectiveMethod } from '../policy/method-override.js';
import { parseQuery } from '../policy/query.js';
import { fillTemplate, type RuleMatch } from '../policy/rules.js';
import type { ProxyRecord } from './record.js';
import { confineBelowPrefix, splitOriginForm } from './request-target.js';
import type { ProxyTarget } from './target.js';
import type { UpstreamRouter } from './upstreams.js';

/** A request routed to its upstream, with the caching rule it matched, if any. */
export interface RoutedRequest {
  readonly target: ProxyTarget;
  readonly match: RuleMatch | undefined;
  /** The method rules were matched with: the request's, or the one a POST names in an override. */
  readonly method: string;
}

/**
 * Refuses unsafe targets, routes by prefix and matches the upstream's rules (with the method a
 * POST names in `_HttpMethod` / `X-HTTP-Method-Override`, see policy/method-override.ts), noting each step on
 * the record as it goes (so a refused request is audited with what was known when it was refused).
 * Throws the catalogued SidecacheError for a target that cannot be proxied.
 */
export function routeRequest(router: UpstreamRouter, method: string, url: string, record: ProxyRecord, overrideHeader?: string): RoutedRequest {
  const { path, query, search } = splitOriginForm(url);
  record.path = path;
  record.query = query;
  const { upstream, rest } = router.route(path);
  record.upstream = upstream.name;
  if (!upstream.enabled) {
    throw new SidecacheError('upstream_disabled', `upstream "${upstream.name}" is disabled: its target URL is not set`);
  }
  const upstreamPath = confineBelowPrefix(rest);
  record.path = upstreamPath;
  const queryPairs = parseQuery(query);
  const target: ProxyTarget = { upstream, path: upstreamPath, query, queryPairs, forwardPath: upstream.basePath + upstreamPath + search };
  const meant = effectiveMethod(method, queryPairs, overrideHeader);
  const match = upstream.rules.match(meant, upstreamPath, queryPairs);
  if (match !== undefined) noteRule(record, match);
  return { target, match, method: meant };
}

/** Audit naming from the matched rule: its action (default: the rule name) and resource. */
function noteRule(record: ProxyRecord, match: RuleMatch): void {
  const { rule, params } = match;
  record.rule = rule.name;
  record.action = fillTemplate(rule.action ?? rule.name, params);
  record.resourceType = rule.resourceType === null ? null : fillTemplate(rule.resourceType, params);
  record.resourceId = rule.resourceId === null ? null : fillTemplate(rule.resourceId, params);
}
