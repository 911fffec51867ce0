import { SidecacheError } from '../errors.js';

/** A malformed delivery: 400, naming what was wrong. */
export function malformed(message: string): SidecacheError {
  return new SidecacheError('invalid_request', message);
}

/** Parses a JSON body; a syntax error is a malformed delivery. */
export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw malformed('body: empty; expected JSON');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw malformed(`body: not valid JSON (${(err as Error).message})`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a dotted path of nested objects, or undefined. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** A short description of a value for a 400 message (never the whole value). */
export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value === 'object' ? 'an object' : String(value);
}
