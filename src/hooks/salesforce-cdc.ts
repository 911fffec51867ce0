import type { InvalidationTarget } from '../invalidation/invalidator.js';
import { at, describe, isRecord, malformed } from './payload.js';
import { ENTITY_NAME, RECORD_ID, entityChangeTags, recordChangeTags } from './salesforce-records.js';
import type { WriteEquivalent } from './write-equivalent.js';

export const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** Events per delivery at most; a relay batching more must split. */
export const MAX_EVENTS = 1000;

/** A wildcard id such as `001*`: every record of the entity. */
const WILDCARD_ID = /^[A-Za-z0-9]{0,17}\*$/;

/** One change event, as far as the cache cares. */
export interface ChangeEvent {
  readonly entity: string;
  readonly changeType: ChangeType;
  /** The changed records; empty when `wholeEntity`. */
  readonly recordIds: readonly string[];
  /** Overflow (`GAP_OVERFLOW`) or a wildcard id: any record of the entity may have changed. */
  readonly wholeEntity: boolean;
  /** Identity for dedupe: transaction key and sequence number, else the replay id; null without either. */
  readonly deliveryId: string | null;
}

/** Where the Streaming API, Pub/Sub relays and plain JSON put the header, in the order tried. */
const HEADER_PATHS = ['ChangeEventHeader', 'payload.ChangeEventHeader', 'data.payload.ChangeEventHeader'];
const REPLAY_PATHS = ['event.replayId', 'data.event.replayId', 'replayId'];

/**
 * Reads a relay delivery: one change event or a list of them, each with a `ChangeEventHeader`
 * at the top level, under `payload` or under `data.payload`. Throws a 400 naming the event and
 * field that is missing or malformed.
 */
export function parseChangeEvents(body: unknown): ChangeEvent[] {
  const events = Array.isArray(body) ? body : [body];
  if (events.length === 0) throw malformed('body: an empty list; expected one change event or a list of them');
  if (events.length > MAX_EVENTS) throw malformed(`body: ${events.length} events; at most ${MAX_EVENTS} per delivery`);
  return events.map((event, index) => parseEvent(event, Array.isArray(body) ? `[${index}].` : ''));
}

function parseEvent(event: unknown, where: string): ChangeEvent {
  if (!isRecord(event)) throw malformed(`${where === '' ? 'body' : where.slice(0, -1)}: must be a change event object, got ${describe(event)}`);
  const headerPath = HEADER_PATHS.find((path) => at(event, path) !== undefined);
  if (headerPath === undefined) throw malformed(`${where}ChangeEventHeader: missing (looked at the top level, under payload and under data.payload)`);
  const header = at(event, headerPath);
  const field = (name: string) => `${where}${headerPath}.${name}`;
  if (!isRecord(header)) throw malformed(`${where}${headerPath}: must be an object, got ${describe(header)}`);

  const entity = header['entityName'];
  if (typeof entity !== 'string' || !ENTITY_NAME.test(entity)) throw malformed(`${field('entityName')}: must be an sObject API name, got ${describe(entity)}`);
  const changeType = header['changeType'];
  if (!CHANGE_TYPES.includes(changeType as ChangeType)) {
    throw malformed(`${field('changeType')}: must be one of ${CHANGE_TYPES.join(', ')}, got ${describe(changeType)}`);
  }
  const commitTimestamp = header['commitTimestamp'];
  if (typeof commitTimestamp !== 'number' || !Number.isFinite(commitTimestamp)) {
    throw malformed(`${field('commitTimestamp')}: must be epoch milliseconds, got ${describe(commitTimestamp)}`);
  }
  const ids = header['recordIds'];
  if (!Array.isArray(ids)) throw malformed(`${field('recordIds')}: must be a list of record ids, got ${describe(ids)}`);
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || !(RECORD_ID.test(id) || WILDCARD_ID.test(id))) {
      throw malformed(`${field(`recordIds[${i}]`)}: must be a 15- or 18-character record id or a wildcard such as "001*", got ${describe(id)}`);
    }
  });
  const overflow = changeType === 'GAP_OVERFLOW';
  if (ids.length === 0 && !overflow) throw malformed(`${field('recordIds')}: empty; a ${changeType as string} event must name its records`);
  const wholeEntity = overflow || ids.some((id: string) => id.endsWith('*'));
  return {
    entity,
    changeType: changeType as ChangeType,
    recordIds: wholeEntity ? [] : [...new Set(ids as string[])],
    wholeEntity,
    deliveryId: deliveryId(event, header, entity),
  };
}

function deliveryId(event: Record<string, unknown>, header: Record<string, unknown>, entity: string): string | null {
  const transaction = header['transactionKey'];
  const sequence = header['sequenceNumber'];
  if (typeof transaction === 'string' && transaction !== '') return `tx:${transaction}:${typeof sequence === 'number' ? sequence : ''}:${entity}`;
  for (const path of REPLAY_PATHS) {
    const replay = at(event, path);
    if ((typeof replay === 'number' && Number.isFinite(replay)) || (typeof replay === 'string' && replay !== '')) return `replay:${entity}:${replay}`;
  }
  return null;
}

/**
 * What the events invalidate: each record as a write of it through the proxy would (the record
 * and every cached query reading its entity); the whole entity on overflow or a wildcard id.
 */
export function changeEventsTarget(events: readonly ChangeEvent[], equivalent: WriteEquivalent): InvalidationTarget {
  const tags = new Set<string>();
  for (const event of events) {
    const found = event.wholeEntity
      ? entityChangeTags(equivalent, event.entity)
      : event.recordIds.flatMap((id) => recordChangeTags(equivalent, event.entity, id));
    for (const tag of found) tags.add(tag);
  }
  return { tags: [...tags] };
}
