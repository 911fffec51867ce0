import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';

/** Every schema violation as one `<keypath>: <what was expected>` line, at most one per key path. */
export function schemaProblems(schema: TSchema, value: unknown, base: readonly (string | number)[] = []): string[] {
  const byPath = new Map<string, string>();
  for (const error of Value.Errors(schema, value)) {
    const path = keyPath([...base, ...pointerSegments(error.path)]);
    if (!byPath.has(path)) byPath.set(path, describe(error));
  }
  return [...byPath].map(([path, message]) => `${path}: ${message}`);
}

/** `['upstreams', 0, 'requestHeaders', 'add', 'x-foo']` -> `upstreams[0].requestHeaders.add["x-foo"]`. */
export function keyPath(segments: readonly (string | number)[]): string {
  return segments.reduce<string>(appendKey, '') || '(root)';
}

/** Appends one key to a key path: `.name`, `[3]` or `["x-foo"]`. */
export function appendKey(base: string, segment: string | number): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) return base === '' ? segment : `${base}.${segment}`;
  return `${base}[${JSON.stringify(segment)}]`;
}

function describe(error: ValueError): string {
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return 'unknown key';
  if (error.type === ValueErrorType.ObjectRequiredProperty) return 'is required';
  const message: unknown = error.schema['errorMessage'];
  if (typeof message === 'string') return message;
  if (error.type === ValueErrorType.Object) return 'must be a mapping of keys to values';
  if (error.type === ValueErrorType.Array) return 'must be a list';
  return 'has an invalid value';
}

function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^(?:0|[1-9]\d*)$/.test(segment) ? Number(segment) : segment));
}
