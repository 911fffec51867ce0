import { recordIndependentTags, type WriteEquivalent } from './write-equivalent.js';

/**
 * Where sObjects live on the Salesforce upstream, below its prefix. The API version is a path
 * parameter of every rule (`/services/data/:v/…`), so any value stands for all of them.
 */
const SOBJECTS = '/services/data/v0.0/sobjects';

/** A Salesforce record id: 15 characters (case-sensitive) or 18 (with the case checksum). */
export const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
/** An API name: `Account`, `Invoice__c`, `ns__Invoice__c`. */
export const ENTITY_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/** One record changed: what a PATCH of it through the proxy invalidates (the record, and queries reading its type). */
export function recordChangeTags(equivalent: WriteEquivalent, entity: string, id: string): string[] {
  return equivalent.invalidatedBy('PATCH', `${SOBJECTS}/${entity}/${id}`);
}

/**
 * Any record of the type may have changed: what creating one invalidates (queries reading the
 * type), plus every cached record read of the type.
 */
export function entityChangeTags(equivalent: WriteEquivalent, entity: string): string[] {
  return [
    ...equivalent.invalidatedBy('POST', `${SOBJECTS}/${entity}`),
    ...recordIndependentTags(equivalent, (id) => `${SOBJECTS}/${entity}/${id}`),
  ];
}
