import { forwardResponseHeaders } from './headers.js';

/** What `ServerResponse.writeEarlyHints` takes: `link` plus any other field, one line each. */
export type EarlyHints = { link: string[] } & Record<string, string | string[]>;

/**
 * Node's own check of each Link value (lib/internal/validators.js `validateLinkHeaderValue`):
 * `writeEarlyHints` throws on the whole 103 if one value fails it, so such values are dropped.
 */
const NODE_LINK_VALUE = /^(?:<[^>]*>)(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/;

/**
 * The fields of an upstream's `103 Early Hints` (RFC 8297) as the client gets them: its Link
 * values one by one, plus its other end-to-end fields; null when no Link value is left, since
 * Node writes no 103 without one. Other 1xx are not relayed: 100 and 101 belong to the hop that
 * asked for them, and 102 (RFC 2518, dropped from RFC 4918) tells a client nothing it acts on.
 */
export function earlyHintsFrom(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): EarlyHints | null {
  if (status !== 103) return null;
  const fields = forwardResponseHeaders(headers);
  const link = [fields['link'] ?? []].flat().flatMap(splitLinkValues).filter((value) => NODE_LINK_VALUE.test(value));
  if (link.length === 0) return null;
  const hints: EarlyHints = { link };
  for (const name in fields) {
    if (name === 'link' || name === 'content-length') continue;
    const value = fields[name]!;
    hints[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return hints;
}

/** A Link field value split into its link-values at the commas between them (not those inside `<…>` or quotes). */
export function splitLinkValues(field: string): string[] {
  const values: string[] = [];
  let start = 0;
  let inTarget = false;
  let inQuotes = false;
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (inTarget) {
      if (c === '>') inTarget = false;
    } else if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === '<') inTarget = true;
    else if (c === ',') {
      values.push(field.slice(start, i));
      start = i + 1;
    }
  }
  values.push(field.slice(start));
  return values.map((value) => value.trim()).filter((value) => value !== '');
}
