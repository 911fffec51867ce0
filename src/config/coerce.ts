import { KindGuard, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isRecord } from './defaults.js';

/**
 * Converts scalars only where the schema wants another type and the value does not already fit:
 * numeric strings to numbers (`port: ${PORT:-8080}` gives "8080"), "true"/"false" to booleans,
 * numbers and booleans to strings (`x-api-version: 2`). Also drops null-valued keys of objects.
 */
export function coerce(schema: TSchema, value: unknown): unknown {
  if (KindGuard.IsObject(schema) && isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== null);
    return Object.fromEntries(
      entries.map(([k, v]) => {
        const property = schema.properties[k];
        return [k, property ? coerce(property, v) : v];
      }),
    );
  }
  if (KindGuard.IsRecord(schema) && isRecord(value)) {
    const item = Object.values(schema.patternProperties)[0] as TSchema;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerce(item, v)]));
  }
  if (KindGuard.IsArray(schema) && Array.isArray(value)) return value.map((v) => coerce(schema.items, v));
  if (KindGuard.IsUnion(schema)) {
    if (Value.Check(schema, value)) return value;
    for (const variant of schema.anyOf) {
      const converted = coerce(variant, value);
      if (Value.Check(variant, converted)) return converted;
    }
    return value;
  }
  if (KindGuard.IsString(schema) && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if (typeof value !== 'string') return value;
  if ((KindGuard.IsNumber(schema) || KindGuard.IsInteger(schema)) && /^-?\d+(?:\.\d+)?$/.test(value.trim())) {
    return Number(value);
  }
  if (KindGuard.IsBoolean(schema) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}
