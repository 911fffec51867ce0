import { Ajv, type Options } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS: under NodeNext its default import is the module, the plugin its `default`.
const addFormats = formatsModule.default;

/**
 * The admin listener's schema compiler. Query strings, params and headers arrive as text, so
 * they are coerced (`limit=10` is the integer 10). JSON bodies are not: they carry their own
 * types, and `{"all": "true"}` is a mistake to refuse, not a `true` to act on. Unknown fields are
 * refused rather than dropped, and every violation is reported (admin schemas are small and
 * bounded, so `allErrors` is safe).
 */
export function adminSchemaCompiler(): FastifySchemaCompiler<unknown> {
  const shared: Options = { useDefaults: true, removeAdditional: false, allErrors: true, addUsedSchema: false };
  const text = new Ajv({ ...shared, coerceTypes: true });
  const json = new Ajv({ ...shared, coerceTypes: false });
  addFormats(text);
  addFormats(json);
  return ({ schema, httpPart }) => (httpPart === 'body' ? json : text).compile(schema as object);
}
