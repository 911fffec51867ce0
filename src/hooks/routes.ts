import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HooksConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import type { InvalidationTarget, Invalidator } from '../invalidation/invalidator.js';
import type { CompiledUpstream } from '../proxy/upstreams.js';
import type { DeliveryDedupe } from './dedupe.js';
import { genericTarget } from './generic.js';
import { ISSUE_PATH, jiraTarget, parseJiraDelivery } from './jira.js';
import { parseJson } from './payload.js';
import { changeEventsTarget, parseChangeEvents } from './salesforce-cdc.js';
import { OUTBOUND_ACK, organizationMatches, outboundTarget, parseOutboundMessage } from './salesforce-outbound.js';
import { recordChangeTags } from './salesforce-records.js';
import { sharedSecretMatches, signatureMatches } from './signature.js';
import { writeEquivalent, type WriteEquivalent } from './write-equivalent.js';

export type HookSource = 'jira' | 'salesforce-cdc' | 'salesforce-outbound' | 'generic';
export type HookOutcome = 'invalidated' | 'duplicate' | 'ignored' | 'malformed' | 'unauthorized' | 'forbidden' | 'too_large' | 'failed';

/** Where deliveries are counted (SidecacheMetrics). */
export interface HookEvents {
  hookDelivery(source: HookSource, outcome: HookOutcome): void;
}

export interface HookRoutesOptions {
  readonly config: HooksConfig;
  readonly invalidator: Pick<Invalidator, 'invalidate'>;
  /** The compiled upstreams: their write rules say what a change invalidates. */
  readonly upstreams: readonly CompiledUpstream[];
  /** Remembers delivery ids, across instances when Redis is configured (shared with the Pub/Sub feed). */
  readonly dedupe: DeliveryDedupe;
  readonly events: HookEvents;
  /** False while the audit trail can be neither written nor spooled and `audit.failClosed` is set. */
  readonly accepting: () => boolean;
  readonly log: FastifyBaseLogger;
}

const PATHS: Readonly<Record<HookSource, string>> = {
  jira: '/hooks/jira',
  'salesforce-cdc': '/hooks/salesforce/cdc',
  'salesforce-outbound': '/hooks/salesforce/outbound',
  generic: '/hooks/invalidate',
};

/** A delivery, once authenticated and read: what to invalidate, under which delivery ids, for the audit row. */
interface Delivery {
  /** One target per delivery id (null: no id, never deduplicated); repeats are dropped. */
  readonly parts: ReadonlyArray<{ readonly id: string | null; readonly target: InvalidationTarget }>;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
}

type Reader = (request: FastifyRequest<{ Body: Buffer | undefined }>, body: Buffer) => Delivery;

/**
 * `POST /hooks/…` on the proxy listener: change feeds from Jira and Salesforce (and anything
 * else that knows what changed) turned into invalidations through the same engine as writes,
 * so every instance drops the changed entries. A feed whose secret is unset has no route (404
 * from the proxy's catch-all). Every delivery gets one audit row (`hook.<source>`) and one count.
 */
export async function hookRoutes(app: FastifyInstance, options: HookRoutesOptions): Promise<void> {
  const { config, dedupe } = options;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_request, body, done) => done(null, body));
  const outcomes = new WeakMap<FastifyRequest, HookOutcome>();
  const sourceOf = new WeakMap<FastifyRequest, HookSource>();
  app.addHook('onResponse', (request, reply, done) => {
    const source = sourceOf.get(request);
    if (source !== undefined) options.events.hookDelivery(source, outcomes.get(request) ?? outcomeOfStatus(reply.statusCode));
    done();
  });

  const route = (source: HookSource, read: Reader, respond: (reply: FastifyReply, body: object) => FastifyReply = json) => {
    app.post<{ Body: Buffer | undefined }>(PATHS[source], {
      // Before the body is read, so a refused (413) or failed delivery is audited too.
      onRequest: (request, _reply, done) => {
        sourceOf.set(request, source);
        const record = request.sidecache;
        if (record !== null) {
          record.audited = true;
          record.action = `hook.${source}`;
          record.path = PATHS[source];
          // Never the query: the outbound feed's carries its shared secret.
          record.query = '';
        }
        done();
      },
      handler: async (request, reply) => {
        if (!options.accepting()) throw new SidecacheError('audit_unavailable');
        const delivery = read(request, request.body ?? Buffer.alloc(0));
        const record = request.sidecache;
        if (record !== null) {
          record.resourceType = delivery.resourceType;
          record.resourceId = delivery.resourceId;
        }
        const applied = await apply(source, delivery, { dedupe, invalidator: options.invalidator });
        outcomes.set(request, applied.outcome);
        return respond(reply, applied.body);
      },
    });
  };

  if (config.jira.secret !== null) {
    const secret = config.jira.secret;
    const equivalent = equivalentFor(options, config.jira.upstream, (eq) => eq.invalidatedBy('PUT', `${ISSUE_PATH}/PROJ-1`).length > 0, 'PUT …/issue/:key');
    route('jira', (request, body) => {
      if (!signatureMatches(secret, body, request.headers['x-hub-signature'])) throw badSignature('X-Hub-Signature', 'hooks.jira.secret');
      const change = parseJiraDelivery(parseJson(body));
      const id = header(request, 'x-atlassian-webhook-identifier');
      return {
        parts: [{ id, target: jiraTarget(change, equivalent, config.jira.upstream) }],
        resourceType: change.relevant ? 'issue' : null,
        resourceId: change.relevant ? [...change.keys, ...change.ids].join(',') : null,
      };
    });
  }

  if (config.salesforce.secret !== null) {
    const secret = config.salesforce.secret;
    const equivalent = equivalentFor(options, config.salesforce.upstream, (eq) => recordChangeTags(eq, 'Account', '001000000000000AAA').length > 0, 'PATCH …/sobjects/:type/:id');
    route('salesforce-cdc', (request, body) => {
      if (!signatureMatches(secret, body, request.headers['x-sidecache-signature'])) throw badSignature('X-Sidecache-Signature', 'hooks.salesforce.secret');
      const events = parseChangeEvents(parseJson(body));
      return {
        parts: events.map((event) => ({ id: event.deliveryId, target: changeEventsTarget([event], equivalent) })),
        resourceType: unique(events.map((e) => e.entity)),
        resourceId: unique(events.flatMap((e) => (e.wholeEntity ? ['*'] : e.recordIds))),
      };
    });

    const organizationId = config.salesforce.organizationId;
    if (organizationId !== null) {
      route(
        'salesforce-outbound',
        (request, body) => {
          const given = (request.query as Record<string, unknown>)['secret'];
          if (!sharedSecretMatches(secret, typeof given === 'string' ? given : undefined)) {
            throw new SidecacheError('unauthorized', 'the URL must carry ?secret=<hooks.salesforce.secret>');
          }
          const message = parseOutboundMessage(body);
          if (!organizationMatches(organizationId, message.organizationId)) {
            throw new SidecacheError('forbidden', `OrganizationId ${message.organizationId} is not the configured organization (hooks.salesforce.organizationId)`);
          }
          return {
            parts: message.notifications.map((n) => ({ id: n.id, target: outboundTarget([n], equivalent) })),
            resourceType: unique(message.notifications.map((n) => n.entity)),
            resourceId: unique(message.notifications.map((n) => n.recordId)),
          };
        },
        (reply) => reply.type('text/xml; charset=utf-8').send(OUTBOUND_ACK),
      );
    }
  }

  if (config.generic.secret !== null) {
    const secret = config.generic.secret;
    route('generic', (request, body) => {
      if (!signatureMatches(secret, body, request.headers['x-sidecache-signature'])) throw badSignature('X-Sidecache-Signature', 'hooks.generic.secret');
      return { parts: [{ id: null, target: genericTarget(parseJson(body), options.upstreams.map((u) => u.config)) }], resourceType: null, resourceId: null };
    });
  }
}

/**
 * Drops parts already applied (their delivery id was claimed before), then invalidates the rest
 * at once. A failed invalidation gives its claims back, so the sender's retry is applied.
 */
function apply(
  source: HookSource,
  delivery: Delivery,
  options: { dedupe: DeliveryDedupe; invalidator: HookRoutesOptions['invalidator'] },
): Promise<{ outcome: HookOutcome; body: object }> {
  return options.dedupe.applyOnce(source, async (claim) => {
    const fresh: InvalidationTarget[] = [];
    for (const part of delivery.parts) {
      if (part.id !== null && !(await claim(part.id))) continue;
      fresh.push(part.target);
    }
    if (fresh.length === 0) return { outcome: 'duplicate', body: { duplicate: true } };
    const target = merge(fresh);
    if (isEmpty(target)) return { outcome: 'ignored', body: { ignored: true } };
    const result = await options.invalidator.invalidate(target, 'hook');
    return { outcome: 'invalidated', body: { invalidated: { epochs: result.epochs, keysDeleted: result.keysDeleted, propagated: result.propagated } } };
  });
}

/** One target for the new parts. Deliveries of several parts (change events, notifications) name tags alone. */
function merge(targets: readonly InvalidationTarget[]): InvalidationTarget {
  return targets.length === 1 ? targets[0]! : { tags: [...new Set(targets.flatMap((t) => t.tags ?? []))] };
}

function isEmpty(target: InvalidationTarget): boolean {
  return (target.tags ?? []).length === 0 && (target.keys ?? []).length === 0 && target.prefix === undefined && (target.uris ?? []).length === 0 && target.upstream === undefined && target.all !== true;
}

/** The write rules of the feed's upstream; a warning at start-up when they would invalidate nothing. */
function equivalentFor(options: HookRoutesOptions, name: string, covers: (eq: WriteEquivalent) => boolean, write: string): WriteEquivalent {
  const upstream = options.upstreams.find((u) => u.name === name);
  if (upstream === undefined) throw new Error(`hooks: no upstream is named "${name}"`);
  const equivalent = writeEquivalent(upstream.rules);
  if (!covers(equivalent)) {
    options.log.warn({ upstream: name }, `hooks: upstream "${name}" has no write rule for ${write} with invalidates:, so its change feed will invalidate little (use its preset)`);
  }
  return equivalent;
}

function badSignature(headerName: string, setting: string): SidecacheError {
  return new SidecacheError('unauthorized', `${headerName} is missing or is not sha256=<hex HMAC-SHA256 of the body> under ${setting}`);
}

function header(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function unique(values: readonly string[]): string | null {
  return values.length === 0 ? null : [...new Set(values)].join(',');
}

function json(reply: FastifyReply, body: object): FastifyReply {
  return reply.send(body);
}

function outcomeOfStatus(status: number): HookOutcome {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 413) return 'too_large';
  if (status >= 400 && status < 500) return 'malformed';
  return status >= 500 ? 'failed' : 'invalidated';
}
