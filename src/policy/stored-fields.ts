/**
 * Stored fields that are the cache's own, never sent; their names are not valid field names, so
 * no upstream field can collide. `:age` holds the response's age in whole seconds when its
 * request was sent (RFC 9111 §4.2.3); `:variant` the digest of the request values a varying
 * response was chosen by (RFC 9111 §4.1).
 */
export const STORED_AGE_FIELD = ':age';
export const VARIANT_FIELD = ':variant';

/** Whether a stored field is the cache's own bookkeeping rather than part of the response. */
export function isInternalField(name: string): boolean {
  return name.charCodeAt(0) === 58;
}
