import { randomUUID } from 'node:crypto';
import type { AuditEventFields } from '../../audit/events.js';
import type { Invalidator } from '../../invalidation/invalidator.js';
import type { DeliveryDedupe } from '../dedupe.js';
import { changeEventsTarget, parseChangeEvents, type ChangeEvent } from '../salesforce-cdc.js';
import type { WriteEquivalent } from '../write-equivalent.js';
import type { ChangeEventDecoder } from './avro.js';
import type { ConsumerEvent } from './proto.js';

/** The source name in `sidecache_hook_deliveries_total`, the dedupe keys and the audit action (`hook.salesforce-pubsub`). */
export const PUBSUB_SOURCE = 'salesforce-pubsub';

export type EventOutcome = 'invalidated' | 'duplicate' | 'ignored' | 'malformed';

export interface BatchDeps {
  readonly decoder: ChangeEventDecoder;
  readonly dedupe: DeliveryDedupe;
  readonly equivalent: WriteEquivalent;
  readonly invalidator: Pick<Invalidator, 'invalidate'>;
}

/** What one FetchResponse's events came to, once applied. */
export interface AppliedBatch {
  readonly outcomes: readonly EventOutcome[];
  /** Latest commit time among the applied change events (epoch ms), for the lag gauge. */
  readonly lastCommitAt: number | null;
  readonly entities: readonly string[];
  readonly recordIds: readonly string[];
}

/**
 * Applies one batch of delivered events, as the CDC relay route applies a delivery: each event's
 * ChangeEventHeader is read from its Avro payload and mapped by the relay's own mapping
 * (parseChangeEvents, changeEventsTarget); an event already applied (its EventUuid, else its
 * transaction key and sequence number, remembered 24 h in Redis) is a duplicate; the rest are
 * invalidated at once. A failed invalidation (or schema fetch) gives the batch's claims back
 * and throws, so the batch is delivered again after the reconnect.
 */
export function applyBatch(events: readonly ConsumerEvent[], deps: BatchDeps): Promise<AppliedBatch> {
  return deps.dedupe.applyOnce(PUBSUB_SOURCE, async (claim) => {
    const outcomes: EventOutcome[] = [];
    const tags = new Set<string>();
    const entities = new Set<string>();
    const recordIds = new Set<string>();
    let lastCommitAt: number | null = null;
    for (const delivered of events) {
      const change = await read(delivered, deps.decoder);
      if (change === 'malformed' || change === null) {
        outcomes.push(change === null ? 'ignored' : 'malformed');
        continue;
      }
      const id = delivered.event?.id ? `event:${delivered.event.id}` : (change.event.deliveryId ?? `replay:${delivered.replay_id.toString('hex')}`);
      if (!(await claim(id))) {
        outcomes.push('duplicate');
        continue;
      }
      const target = changeEventsTarget([change.event], deps.equivalent);
      if ((target.tags ?? []).length === 0) {
        outcomes.push('ignored');
        continue;
      }
      for (const tag of target.tags ?? []) tags.add(tag);
      outcomes.push('invalidated');
      entities.add(change.event.entity);
      for (const recordId of change.event.wholeEntity ? ['*'] : change.event.recordIds) recordIds.add(recordId);
      lastCommitAt = Math.max(lastCommitAt ?? 0, change.commitTimestamp);
    }
    if (tags.size > 0) await deps.invalidator.invalidate({ tags: [...tags] }, 'hook');
    return { outcomes, lastCommitAt, entities: [...entities], recordIds: [...recordIds] };
  });
}

/** The change event in a delivered event; null without a ChangeEventHeader (not a change event); 'malformed' when unreadable. */
async function read(delivered: ConsumerEvent, decoder: ChangeEventDecoder): Promise<{ event: ChangeEvent; commitTimestamp: number } | null | 'malformed'> {
  const event = delivered.event;
  if (event === null || event.payload.length === 0) return null;
  // Schema fetch failures propagate: they are the connection's, not the event's.
  const header = await decoder.header(event.schema_id, event.payload).catch((err: Error) => {
    if ((err as { code?: unknown }).code !== undefined) throw err;
    return 'malformed' as const;
  });
  if (header === null || header === 'malformed') return header;
  try {
    const [parsed] = parseChangeEvents({ ChangeEventHeader: header, replayId: delivered.replay_id.toString('hex') });
    return { event: parsed!, commitTimestamp: header['commitTimestamp'] as number };
  } catch {
    return 'malformed';
  }
}

/** The audit row of one applied batch: the topic as path, the replay id and RPC id as query; never a token. */
export function batchAuditEvent(fields: {
  topic: string;
  startedAt: number;
  elapsedMs: number;
  batch: AppliedBatch | null;
  bytes: number;
  replayId: Buffer;
  rpcId: string;
  errorCode: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
}): AuditEventFields {
  const { batch } = fields;
  const list = (values: readonly string[] | undefined) => (values === undefined || values.length === 0 ? null : values.join(','));
  return {
    requestId: randomUUID(),
    ts: fields.startedAt,
    upstream: null,
    method: 'SUBSCRIBE',
    path: fields.topic,
    query: `replayId=${fields.replayId.toString('hex')}${fields.rpcId === '' ? '' : `&rpcId=${encodeURIComponent(fields.rpcId)}`}`,
    action: `hook.${PUBSUB_SOURCE}`,
    resourceType: fields.resourceType ?? list(batch?.entities),
    resourceId: fields.resourceId ?? list(batch?.recordIds),
    status: fields.errorCode === null ? 200 : 500,
    totalMs: fields.elapsedMs,
    requestBytes: fields.bytes,
    responseBytes: 0,
    errorCode: fields.errorCode,
  };
}
