import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { InvalidationTarget } from '../invalidation/invalidator.js';
import { at, describe, isRecord, malformed } from './payload.js';
import { ENTITY_NAME, RECORD_ID, recordChangeTags } from './salesforce-records.js';
import type { WriteEquivalent } from './write-equivalent.js';

/** One notified record. */
export interface OutboundNotification {
  /** The notification's own id: Salesforce resends it unchanged until it gets an Ack. */
  readonly id: string;
  readonly entity: string;
  readonly recordId: string;
}

/** A Salesforce Outbound Message (`notifications` SOAP envelope), as far as the cache cares. */
export interface OutboundMessage {
  readonly organizationId: string;
  readonly notifications: readonly OutboundNotification[];
}

/** What Salesforce expects back; anything else and it retries the message for up to 24 hours. */
export const OUTBOUND_ACK =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
  '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body>' +
  '</soapenv:Envelope>';

/** Salesforce sends at most 100 notifications per message. */
export const MAX_NOTIFICATIONS = 100;

const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  // Ids stay text: `parseTagValue` would read an all-digit value as a number.
  parseTagValue: false,
  isArray: (name) => name === 'Notification',
});

/**
 * Reads the SOAP envelope: `Envelope/Body/notifications` with `OrganizationId` and one or more
 * `Notification` {Id, sObject xsi:type="sf:<Type>" {Id}}. Throws a 400 naming what is wrong.
 */
export function parseOutboundMessage(raw: Buffer): OutboundMessage {
  const text = raw.toString('utf8');
  if (text.trim() === '') throw malformed('body: empty; expected a SOAP notifications envelope');
  // SOAP forbids a DTD; refusing one also rules out entity-expansion tricks.
  if (/<!DOCTYPE/i.test(text)) throw malformed('body: a DOCTYPE is not allowed in a SOAP message');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformed(`body: not well-formed XML (line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg})`);
  const notifications = at(parser.parse(text), 'Envelope.Body.notifications');
  if (!isRecord(notifications)) throw malformed('Envelope.Body.notifications: missing; expected a Salesforce Outbound Message');
  const organizationId = notifications['OrganizationId'];
  if (typeof organizationId !== 'string' || !RECORD_ID.test(organizationId.trim())) {
    throw malformed(`notifications.OrganizationId: must be an org id, got ${describe(organizationId)}`);
  }
  const list = notifications['Notification'];
  if (!Array.isArray(list) || list.length === 0) throw malformed('notifications.Notification: missing; a message names at least one record');
  if (list.length > MAX_NOTIFICATIONS) throw malformed(`notifications.Notification: ${list.length} notifications; at most ${MAX_NOTIFICATIONS}`);
  return { organizationId: organizationId.trim(), notifications: list.map((item, i) => parseNotification(item, `notifications.Notification[${i}]`)) };
}

function parseNotification(item: unknown, where: string): OutboundNotification {
  if (!isRecord(item)) throw malformed(`${where}: must be an element with Id and sObject`);
  const id = text(item['Id']);
  if (id === undefined || !RECORD_ID.test(id)) throw malformed(`${where}.Id: must be a notification id, got ${describe(item['Id'])}`);
  const sObject = item['sObject'];
  if (!isRecord(sObject)) throw malformed(`${where}.sObject: missing`);
  const type = text(sObject['@_type']);
  const entity = type?.slice(type.indexOf(':') + 1);
  if (entity === undefined || !ENTITY_NAME.test(entity)) throw malformed(`${where}.sObject: xsi:type must name the sObject type ("sf:Account"), got ${describe(type)}`);
  const recordId = text(sObject['Id']);
  if (recordId === undefined || !RECORD_ID.test(recordId)) throw malformed(`${where}.sObject.Id: must be a record id, got ${describe(sObject['Id'])}`);
  return { id, entity, recordId };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * Whether a message comes from the configured org. Org ids compare on their 15-character,
 * case-sensitive form: the 18-character form only adds a checksum of the case.
 */
export function organizationMatches(configured: string, given: string): boolean {
  return configured.slice(0, 15) === given.slice(0, 15);
}

/** Each notified record, as a write of it through the proxy would invalidate it. */
export function outboundTarget(notifications: readonly OutboundNotification[], equivalent: WriteEquivalent): InvalidationTarget {
  const tags = new Set(notifications.flatMap((n) => recordChangeTags(equivalent, n.entity, n.recordId)));
  return { tags: [...tags] };
}
