/**
 * What undici refuses to send, checked before a request is handed to it (pure). undici throws
 * for these before a byte is written, and an undici Pool does not give back the connection slot
 * of a request it refused: sixteen refusals stall a sixteen-connection pool for every caller. So
 * sidecache refuses them itself (`request_not_forwardable`), before the upstream guard admits the
 * call, and they never count against the upstream.
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field values, as undici checks them: tab, visible ASCII, space, obs-text. */
const FIELD_VALUE_OUTSIDE = /[^\t\x20-\x7e\x80-\xff]/;
/** undici's request-target check: no controls, no space, nothing above U+00FF. */
const PATH_OUTSIDE = /[^\u0021-\u00ff]/;
/** Headers undici will not send whatever their value (hop-by-hop framing it owns, or `expect`). */
const REFUSED_HEADERS = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/** Why undici would refuse this request, or null when it can be sent. `headers` is a flat [name, value, …] list. */
export function unsendableReason(method: string, path: string, headers: readonly string[]): string | null {
  if (!TOKEN.test(method)) return 'the method is not an HTTP token';
  if (PATH_OUTSIDE.test(path)) return 'the path contains characters that cannot be sent';
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) return `header name ${JSON.stringify(name.slice(0, 64))} is not an HTTP token`;
    const problem = headerValueProblem(value);
    if (problem !== null) return `header "${name}": ${problem}`;
    if (REFUSED_HEADERS.has(name.toLowerCase())) return `header "${name}" cannot be forwarded`;
  }
  return null;
}

/** Why a header value cannot be sent, or null. CR/LF is named on its own: it would start another header. */
export function headerValueProblem(value: string): string | null {
  const bad = FIELD_VALUE_OUTSIDE.exec(value);
  if (bad === null) return null;
  if (/[\r\n]/.test(value)) return 'must not contain CR or LF (a header value is one line; CR/LF would start another header)';
  const code = bad[0].codePointAt(0)!;
  return `must not contain ${code < 0x20 || code === 0x7f ? 'control characters' : 'characters above U+00FF'} (U+${code.toString(16).toUpperCase().padStart(4, '0')} at ${bad.index})`;
}
