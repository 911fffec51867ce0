import { KindGuard, type Static, type TSchema } from '@sinclair/typebox';
import { deepFreeze } from './deep-freeze.js';

/**
 * Fills what the file leaves out from the schema's `default` annotations: a required key that is
 * absent takes a copy of its node's default, and the mappings and lists inside are filled in turn.
 * An optional key stays absent (its absence means something: inherit, off, derived). A value that
 * is present is never changed, so validating the result reports exactly what the file got wrong.
 * (TypeBox's `Value.Default` merges a default into a present value of the wrong shape, e.g. a list
 * given where a mapping is expected, which would hide that mistake.)
 */
export function withDefaults(schema: TSchema, value: unknown): unknown {
  const filled = value === undefined && 'default' in schema ? structuredClone(schema['default'] as unknown) : value;
  if (KindGuard.IsObject(schema) && isRecord(filled)) {
    const out: Record<string, unknown> = { ...filled };
    for (const [key, property] of Object.entries(schema.properties)) {
      if (out[key] === undefined && KindGuard.IsOptional(property)) continue;
      const child = withDefaults(property, out[key]);
      if (child !== undefined) out[key] = child;
    }
    return out;
  }
  if (KindGuard.IsArray(schema) && Array.isArray(filled)) return filled.map((item) => withDefaults(schema.items, item));
  return filled;
}

/** A schema's value when the file says nothing: every default, deep-frozen. */
export function defaultsOf<S extends TSchema>(schema: S): Static<S> {
  return deepFreeze(withDefaults(schema, {}) as Static<S>);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
