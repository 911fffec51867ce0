/** Query-string handling shared by rule matching and cache keys (pure). */

export type QueryPairs = ReadonlyArray<readonly [string, string]>;

/**
 * Parses a raw query (`a=1&b=x+y`) into decoded pairs, keeping order and repeats. Decoding is
 * per escape: a `%` that does not start a valid escape stays a literal `%`, as lenient upstream
 * decoders read it, so `LIKE '100%'` still yields its SOQL. Byte sequences that are not UTF-8
 * become U+FFFD here; cache keys never rely on this text (see `canonicalQuery`).
 */
export function parseQuery(raw: string): QueryPairs {
  if (raw === '') return [];
  const pairs: Array<readonly [string, string]> = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(part.slice(eq + 1));
    pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Canonical query for keying, from the raw query: each name and value is reduced to the bytes
 * it stands for (`+` and `%20` alike, `%61` and `a` alike, escapes in either case) and written
 * one way; pairs are sorted by name, repeated names keep their relative order (`a=1&a=2` and
 * `a=2&a=1` can mean different things upstream).
 *
 * Only a component every decoder reads the same way is reduced: visible ASCII whose every `%`
 * starts a valid escape. Anything else (a stray `%`, a raw space or non-ASCII character) keeps
 * its raw text behind a `!` marker that no reduced component can produce, so `'%41cme%'` and
 * `'%2541cme%25'`, which an upstream reads differently, never share a key.
 */
export function canonicalQuery(raw: string): string {
  const pairs: { name: string; value: string; index: number }[] = [];
  let index = 0;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push({
      name: canonicalComponent(eq === -1 ? part : part.slice(0, eq)),
      value: eq === -1 ? '' : canonicalComponent(part.slice(eq + 1)),
      index: index++,
    });
  }
  pairs.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.index - y.index));
  return pairs.map(({ name, value }) => `${name}=${value}`).join('&');
}

/** First value of a parameter, or undefined. */
export function queryValue(pairs: QueryPairs, name: string): string | undefined {
  for (const [n, v] of pairs) if (n === name) return v;
  return undefined;
}

/** The raw query with the values of the named parameters replaced by `[REDACTED]`. */
export function redactQuery(raw: string, secretNames: ReadonlySet<string>): string {
  if (raw === '') return raw;
  return raw
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq === -1) return part;
      return secretNames.has(decodeComponent(part.slice(0, eq)).toLowerCase()) ? `${part.slice(0, eq)}=[REDACTED]` : part;
    })
    .join('&');
}

const ESCAPE = /%[0-9A-Fa-f]{2}/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
/** Visible ASCII in which every `%` starts an escape: read alike by every percent-decoder. */
const REDUCIBLE = /^(?:[!-$&-~]|%[0-9A-Fa-f]{2})*$/;
const UNRESERVED = /[A-Za-z0-9._~-]/;
const lenientUtf8 = new TextDecoder('utf-8');

function decodeComponent(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!ESCAPE.test(spaced)) return spaced;
  return lenientUtf8.decode(componentBytes(spaced));
}

/** The bytes a component stands for: `%XX` is one byte, a stray `%` a literal one, other characters their UTF-8. */
function componentBytes(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && HEX_PAIR.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      const end = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length ? i + 2 : i + 1;
      bytes.push(...Buffer.from(text.slice(i, end), 'utf8'));
      i = end - 1;
    }
  }
  return Uint8Array.from(bytes);
}

function canonicalComponent(text: string): string {
  if (!REDUCIBLE.test(text)) return `!${encodeBytes(Buffer.from(text, 'utf8'))}`;
  return encodeBytes(componentBytes(text.includes('+') ? text.replace(/\+/g, ' ') : text));
}

/** Unreserved bytes as themselves, every other byte as `%XX` (upper case): one spelling per byte string. */
function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
