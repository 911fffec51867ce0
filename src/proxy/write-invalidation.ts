import type { Invalidator } from '../invalidation/invalidator.js';
import { fillTags, type RuleMatch } from '../policy/rules.js';
import { invalidatedPaths, isSafeMethod, type Mount } from '../policy/unsafe-invalidation.js';
import type { UpstreamResponse } from './forwarder.js';
import type { ProxyTarget } from './target.js';

/** Invalidates what a pass-through request's upstream answer makes stale. */
export type WriteInvalidation = (response: UpstreamResponse) => Promise<void>;

/**
 * None for a safe method. For an unsafe one: invalidates, before the response is sent so the
 * client's next read is never stale, the request's URI and the same-upstream `Location` /
 * `Content-Location` URIs of a 2xx or 3xx answer (RFC 9111 §4.4), and on a 2xx the tags its
 * rule's `invalidates` names.
 * `host` is the request's Host: the proxy's own origin, where the upstream sits below its prefix.
 */
export function writeInvalidation(
  invalidator: Invalidator,
  request: { readonly method: string; readonly host: string | undefined },
  target: ProxyTarget,
  match: RuleMatch | undefined,
): WriteInvalidation | undefined {
  if (isSafeMethod(request.method)) return undefined;
  const { upstream } = target;
  return async (response) => {
    const paths = invalidatedPaths({
      method: request.method,
      status: response.status,
      path: target.path,
      upstreamUrl: upstream.config.target!.origin + target.forwardPath,
      mounts: [...upstream.mounts, ...proxyMounts(request.host, upstream.config.prefix)],
      headers: response.headers,
    });
    if (paths.length === 0) return;
    const successful = response.status >= 200 && response.status < 300;
    const tags = match === undefined || !successful ? [] : match.rule.invalidates.flatMap((t) => fillTags(t, match.params, target.queryPairs));
    await invalidator.invalidate({ tags, uris: paths.map((path) => ({ upstream: upstream.name, path })) }, 'write');
  };
}

/** The proxy's own origin under either scheme (TLS may end in front of it), the upstream below its prefix. */
function proxyMounts(host: string | undefined, prefix: string): Mount[] {
  if (host === undefined || host === '') return [];
  const basePath = prefix === '/' ? '' : prefix;
  try {
    return [{ origin: new URL(`http://${host}`).origin, basePath }, { origin: new URL(`https://${host}`).origin, basePath }];
  } catch {
    return [];
  }
}
