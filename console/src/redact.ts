/**
 * What the cache browser shows of a stored body: JSON values under credential-like names are
 * replaced before display. The admin API never returns header values, only names; a body is the
 * upstream's own answer and may carry a token (an OAuth response, a session payload). Pure.
 */
export const SECRET_NAME = /token|secret|signature|password|passwd|api[-_]?key|private[-_]?key|client[-_]?key|auth(?!or)|jwt|cookie|credential|session/i;
export const REDACTED = '[REDACTED]';

export function redactBody(text: string): { text: string; redacted: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redactText(text);
  }
  let redacted = 0;
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(value)) {
      if (SECRET_NAME.test(name) && (typeof inner === 'string' || typeof inner === 'number')) {
        out[name] = REDACTED;
        redacted++;
      } else {
        out[name] = walk(inner);
      }
    }
    return out;
  };
  return { text: JSON.stringify(walk(parsed), null, 2), redacted };
}

/** Non-JSON text: `name=value` and `name: value` pairs under credential-like names, and bearer tokens. */
function redactText(text: string): { text: string; redacted: number } {
  let redacted = 0;
  const out = text
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, (_, scheme: string) => {
      redacted++;
      return `${scheme} ${REDACTED}`;
    })
    .replace(/([A-Za-z0-9_.-]+)(\s*[=:]\s*)("?)([^\s"&;,<]+)\3/g, (whole, name: string, sep: string, quote: string) => {
      if (!SECRET_NAME.test(name)) return whole;
      redacted++;
      return `${name}${sep}${quote}${REDACTED}${quote}`;
    });
  return { text: out, redacted };
}
