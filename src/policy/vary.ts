import type { StoredHeaders } from '../cache/entry.js';
import { varyNames } from './storability.js';

/**
 * Standards mode's secondary key (RFC 9111 §4.1): the request fields a stored response's `Vary`
 * names, normalised so that requests the origin would answer alike select the same variant.
 */

/** Fields whose values compare case-insensitively (their grammar is case-insensitive tokens). */
const CASELESS = new Set(['accept', 'accept-charset', 'accept-encoding', 'accept-language']);

/**
 * The selecting field names of a stored response: its `Vary` list without `Accept-Encoding`
 * (the cache asks with its own and re-codes per client, see content-coding.ts), sorted and
 * unique; `['*']` when it varies on everything, so never matches.
 */
export function selectingFields(headers: StoredHeaders): readonly string[] {
  const names = varyNames(headers);
  if (names.includes('*')) return ['*'];
  return [...new Set(names.filter((name) => name !== 'accept-encoding'))].sort();
}

/**
 * One line per selecting field: its name and its request value normalised (§4.1: repeated lines
 * combined, whitespace around commas and runs of it collapsed, case folded where the grammar
 * allows), or a distinct marker for an absent field, which matches only absence.
 */
export function selectingValues(names: readonly string[], valueOf: (name: string) => string | undefined): string {
  let material = '';
  for (const name of names) {
    const value = valueOf(name);
    if (value === undefined) {
      material += `${name}\0\n`;
      continue;
    }
    const normal = value.trim().replace(/\s*,\s*/g, ',').replace(/\s+/g, ' ');
    material += `${name}:${CASELESS.has(name) ? normal.toLowerCase() : normal}\n`;
  }
  return material;
}
