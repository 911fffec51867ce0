import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import { parseQuery } from '../policy/query.js';
import type { Forwarder } from './forwarder.js';
import { passThrough } from './pass-through.js';
import type { ReadThrough } from './read-through.js';
import { confineBelowPrefix, splitOriginForm } from './request-target.js';
import type { ProxyTarget } from './target.js';
import type { UpstreamRouter } from './upstreams.js';

export interface ProxyHandlerDeps {
  readonly router: UpstreamRouter;
  readonly forwarder: Forwarder;
  readonly readThrough: ReadThrough;
  readonly server: ServerConfig;
}

/**
 * Entry point of every proxied request: refuse unsafe targets, route to an upstream by prefix,
 * then read through the cache when a caching rule matches, or pass through otherwise.
 */
export function createProxyHandler(deps: ProxyHandlerDeps) {
  return async function proxy(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const record = request.sidecache!;
    const { path, query, search } = splitOriginForm(request.raw.url ?? '');
    const { upstream, rest } = deps.router.route(path);
    record.upstream = upstream.name;
    if (!upstream.enabled) {
      throw new SidecacheError('upstream_disabled', `upstream "${upstream.name}" is disabled: its target URL is not set`);
    }
    const upstreamPath = confineBelowPrefix(rest);
    const queryPairs = parseQuery(query);
    const target: ProxyTarget = {
      upstream,
      path: upstreamPath,
      query,
      queryPairs,
      forwardPath: upstream.basePath + upstreamPath + search,
    };
    const match = upstream.rules.match(request.method, upstreamPath, queryPairs);
    record.rule = match?.rule.name ?? null;
    if (match === undefined || !match.rule.cache) {
      return passThrough(deps.forwarder, request, reply, target, {
        reason: 'no-rule',
        maxBodyBytes: deps.server.maxRequestBodyBytes,
      });
    }
    return deps.readThrough.serve(request, reply, target, match);
  };
}
