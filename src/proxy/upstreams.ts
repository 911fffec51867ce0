import type { CacheRuleConfig, UpstreamConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import { UPSTREAM_ACCEPT_ENCODING } from '../policy/content-coding.js';
import { compileRules, type RuleSet } from '../policy/rules.js';
import type { Mount } from '../policy/unsafe-invalidation.js';
import { compileRequestHeaderPlan, type RequestHeaderPlan } from './headers.js';

/** An upstream with everything the hot path needs precomputed at boot. */
export interface CompiledUpstream {
  readonly config: UpstreamConfig;
  readonly name: string;
  readonly enabled: boolean;
  /** Target path without a trailing slash ('' for an origin-only target). */
  readonly basePath: string;
  readonly rules: RuleSet;
  /** The configured request header rewrite, as pass-through requests are sent. */
  readonly headerPlan: RequestHeaderPlan;
  /**
   * The rewrite of requests whose answer is cached: `headerPlan` with the proxy's own
   * `Accept-Encoding` instead of the client's, so one stored body serves every client
   * (it is re-coded for each as needed, see respond.ts).
   */
  readonly cacheableHeaderPlan: RequestHeaderPlan;
  /**
   * Where the upstream's resources are named besides the proxy's own Host and prefix: its target
   * and `publicUrl` (so a write's `Location` there invalidates, see policy/unsafe-invalidation.ts).
   */
  readonly mounts: readonly Mount[];
  /** Sorted vary header names of a rule: the upstream's (API mode) plus the rule's own. */
  varyFor(rule: CacheRuleConfig): readonly string[];
}

/** Request headers that never go upstream: `expect` is answered by Node itself (100-continue). */
const ALWAYS_REMOVED = ['expect'];

/**
 * @param identityHeaders request headers carrying the app's session identity, stripped before
 *   forwarding unless `sessions.forwardIdentityHeaders` is set.
 */
export function compileUpstream(config: UpstreamConfig, identityHeaders: readonly string[] = []): CompiledUpstream {
  const vary = new Map<CacheRuleConfig, readonly string[]>();
  // Standards mode keys on what each response's Vary names; only the rule's own list adds to that.
  for (const rule of config.rules) vary.set(rule, [...new Set([...(rule.freshness === 'origin' ? [] : config.vary), ...rule.vary])].sort());
  const headerPlan = compileRequestHeaderPlan(config.requestHeaders, [...ALWAYS_REMOVED, ...identityHeaders]);
  const basePath = config.target === null ? '' : withoutTrailingSlash(config.target.pathname);
  const mounts: Mount[] = [];
  if (config.target !== null) mounts.push({ origin: config.target.origin, basePath });
  if (config.publicUrl !== null) {
    const publicUrl = new URL(config.publicUrl);
    mounts.push({ origin: publicUrl.origin, basePath: withoutTrailingSlash(publicUrl.pathname) });
  }
  return {
    config,
    name: config.name,
    enabled: config.target !== null,
    basePath,
    mounts,
    rules: compileRules(config.rules),
    headerPlan,
    cacheableHeaderPlan: withProxyAcceptEncoding(headerPlan),
    varyFor: (rule) => vary.get(rule) ?? config.vary,
  };
}

function withoutTrailingSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

/**
 * The plan with `Accept-Encoding: gzip, br` in place of the client's: codings the proxy can decode
 * for a client that does not accept them. A config that adds or removes `Accept-Encoding` is
 * followed: the operator chose (a coding the proxy cannot decode reaches only clients accepting it).
 */
function withProxyAcceptEncoding(plan: RequestHeaderPlan): RequestHeaderPlan {
  const configured = plan.remove.has('accept-encoding') || plan.add.some((field, i) => i % 2 === 0 && field.toLowerCase() === 'accept-encoding');
  if (configured) return plan;
  return { remove: new Set([...plan.remove, 'accept-encoding']), add: [...plan.add, 'accept-encoding', UPSTREAM_ACCEPT_ENCODING] };
}

/** Longest-prefix routing of a request path to an upstream, at segment boundaries. */
export class UpstreamRouter {
  readonly #byLongestPrefix: readonly CompiledUpstream[];

  constructor(upstreams: readonly UpstreamConfig[], identityHeaders: readonly string[] = []) {
    this.#byLongestPrefix = upstreams.map((u) => compileUpstream(u, identityHeaders)).sort((a, b) => b.config.prefix.length - a.config.prefix.length);
  }

  get upstreams(): readonly CompiledUpstream[] {
    return this.#byLongestPrefix;
  }

  /** The upstream owning `path`, and the remainder of the path below its prefix. */
  route(path: string): { upstream: CompiledUpstream; rest: string } {
    for (const upstream of this.#byLongestPrefix) {
      const prefix = upstream.config.prefix;
      if (prefix === '/') return { upstream, rest: path };
      if (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)) {
        return { upstream, rest: path.slice(prefix.length) };
      }
    }
    throw new SidecacheError('no_upstream', `no upstream is configured for ${truncate(path)}`);
  }
}

function truncate(path: string): string {
  const firstSegment = path.split('/', 2).join('/');
  return firstSegment.length > 64 ? `${firstSegment.slice(0, 64)}…` : firstSegment;
}
