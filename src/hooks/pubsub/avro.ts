import avro from 'avsc';

/** The ChangeEventHeader fields sidecache reads; the rest (bitmaps, commit numbers) and every record field are skipped unread. */
const HEADER_FIELDS = new Set(['entityName', 'recordIds', 'changeType', 'changeOrigin', 'transactionKey', 'sequenceNumber', 'commitTimestamp', 'commitUser']);

/** What a payload holds as far as the cache cares: the change event header, or null for an event without one (a platform event). */
export type DecodedHeader = Record<string, unknown> | null;

interface Reader {
  /** Null when the schema has no ChangeEventHeader field. */
  readonly resolver: { type: avro.Type; resolver: avro.Resolver } | null;
}

/**
 * Decodes Avro payloads of change events by schema id. A schema (fetched once per id; ids name
 * immutable schemas) is read through a reader schema holding only the ChangeEventHeader with
 * the fields above, so the rest of an event (record fields, `changedFields` bitmaps, longs
 * beyond 2^53) is skipped, not decoded.
 */
export class ChangeEventDecoder {
  readonly #readers = new Map<string, Reader>();
  readonly #fetchSchema: (schemaId: string) => Promise<string>;

  constructor(fetchSchema: (schemaId: string) => Promise<string>) {
    this.#fetchSchema = fetchSchema;
  }

  /** The header of one payload; fetches the schema the first time its id is seen. Throws on a payload that does not match its schema. */
  async header(schemaId: string, payload: Buffer): Promise<DecodedHeader> {
    let reader = this.#readers.get(schemaId);
    if (reader === undefined) {
      reader = readerFor(await this.#fetchSchema(schemaId));
      this.#readers.set(schemaId, reader);
    }
    if (reader.resolver === null) return null;
    const { type, resolver } = reader.resolver;
    const decoded = type.fromBuffer(payload, resolver, true) as { ChangeEventHeader?: Record<string, unknown> };
    return decoded.ChangeEventHeader ?? null;
  }

  /** Schemas known so far. */
  get size(): number {
    return this.#readers.size;
  }
}

function readerFor(schemaJson: string): Reader {
  const writerSchema = JSON.parse(schemaJson) as { type?: string; fields?: Array<{ name: string; type: unknown }> };
  const writer = avro.Type.forSchema(writerSchema as avro.Schema);
  const headerField = writerSchema.fields?.find((f) => f.name === 'ChangeEventHeader');
  if (writerSchema.type !== 'record' || headerField === undefined) return { resolver: null };
  const headerType = headerField.type as { type?: string; fields?: Array<{ name: string }> };
  if (headerType.type !== 'record' || !Array.isArray(headerType.fields)) return { resolver: null };
  // Same names and namespace as the writer's, so Avro resolution matches them; fewer fields.
  const readerSchema = {
    ...writerSchema,
    fields: [{ ...headerField, type: { ...headerType, fields: headerType.fields.filter((f) => HEADER_FIELDS.has(f.name)) } }],
  };
  const type = avro.Type.forSchema(readerSchema as avro.Schema);
  return { resolver: { type, resolver: type.createResolver(writer) } };
}
