import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig, SessionsConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import type { Invalidator } from '../invalidation/invalidator.js';
import { identifyRequest } from './identify-request.js';
import type { SessionStore } from '../sessions/sessions.js';
import type { CallerLimits } from './caller-limits.js';
import type { Forwarder } from './forwarder.js';
import { oauthExchange } from './oauth.js';
import { passThrough } from './pass-through.js';
import type { ReadThrough } from './read-through.js';
import { routeRequest } from './route-request.js';
import type { UpstreamRouter } from './upstreams.js';
import { writeInvalidation } from './write-invalidation.js';

export interface ProxyHandlerDeps {
  readonly router: UpstreamRouter;
  readonly forwarder: Forwarder;
  readonly readThrough: ReadThrough;
  readonly server: ServerConfig;
  readonly sessions: { config: SessionsConfig; store: SessionStore };
  /** False while the audit trail can be neither written nor spooled and `audit.failClosed` is set. */
  readonly accepting: () => boolean;
  readonly invalidator: Invalidator;
  readonly callerLimits: CallerLimits;
  /** Told when an OAuth answer names an `instance_url` other than the upstream's target (calls still go to the target). */
  readonly onForeignInstance?: (upstream: string, origin: string) => void;
}

/**
 * Entry point of every proxied request: identify the caller, refuse unsafe targets, route to an
 * upstream by prefix, then read through the cache when a caching rule matches, or pass through.
 */
export function createProxyHandler(deps: ProxyHandlerDeps) {
  return async function proxy(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const record = request.sidecache!;
    record.audited = true;
    identifyRequest(request, reply, record, deps.sessions);
    if (!deps.accepting()) throw new SidecacheError('audit_unavailable');

    const override = request.headers['x-http-method-override'];
    const { target, match, method } = routeRequest(deps.router, request.method, request.raw.url ?? '', record, typeof override === 'string' ? override : undefined);
    const { upstream } = target;
    const cacheable = match !== undefined && match.rule.cache;
    // Cache hits can be exempt from the caller's limit: they cost the upstream nothing.
    const limit = deps.callerLimits.policy(upstream.name);
    if (limit.limited && !(limit.exemptHits && cacheable)) await deps.callerLimits.take(upstream.name, request);
    // OAuth answers are never cached, and their org URLs point back at the proxy.
    const oauth = oauthExchange(request, target, deps.onForeignInstance ?? ignore);
    if (oauth !== null) return passThrough(deps.forwarder, request, reply, target, { reason: 'oauth', server: deps.server, ...oauth });
    if (!cacheable) {
      return passThrough(deps.forwarder, request, reply, target, {
        reason: 'no-rule',
        server: deps.server,
        beforeRespond: writeInvalidation(deps.invalidator, { method, host: request.headers.host }, target, match),
      });
    }
    const beforeUpstream = limit.limited && limit.exemptHits ? () => deps.callerLimits.take(upstream.name, request) : undefined;
    return deps.readThrough.serve(request, reply, target, match, beforeUpstream);
  };
}

function ignore(): void {}
