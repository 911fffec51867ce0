/** COPY's text format for one value (pure): what copy.ts writes and hit-row.ts prepares ahead. */

/** A null value. */
export const COPY_NULL = '\\N';

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeOne = (c: string): string => ESCAPES[c]!;

/** A text value for COPY's text format: backslash, newline, carriage return and tab escaped; null as `\N`. */
export function copyText(value: string | null): string {
  if (value === null) return COPY_NULL;
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, escapeOne) : value;
}
