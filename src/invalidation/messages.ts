/**
 * The messages instances exchange on the invalidation bus, as JSON. Every message carries the
 * wire version and the id of the instance that sent it (so a sender can ignore its own echo).
 *
 * To add a type: add its payload interface to `BusPayloads`, then a validator to
 * `PAYLOAD_VALIDATORS` (the compiler insists on one for every type).
 */

const BUS_MESSAGE_VERSION = 1;

/** Payload of each message type, by type name. */
export interface BusPayloads {
  /**
   * Drop these cache keys from memory (another instance stored or removed them). With
   * `storedAt` (one per key, epoch ms, sent for stored entries), a memory copy with exactly
   * that storedAt is the announced entry and is kept; instances that predate the field evict
   * regardless, which is merely slower.
   */
  evict: { keys: string[]; storedAt?: number[] };
  /** Drop every entry from memory. */
  clear: Record<never, never>;
  /** Entries stored before `at` (epoch ms) under any of these epoch tags are invalid. */
  invalidate: { tags: string[]; at: number };
}

export type BusMessageType = keyof BusPayloads;

/** What a publisher supplies: the type and its payload (the bus adds `v` and `origin`). */
export type BusPayload = { [T in BusMessageType]: { type: T } & BusPayloads[T] }[BusMessageType];

/** A message on the wire. */
export type BusMessage = { [T in BusMessageType]: { v: typeof BUS_MESSAGE_VERSION; origin: string; type: T } & BusPayloads[T] }[BusMessageType];

type Validator = (message: Record<string, unknown>) => boolean;

const PAYLOAD_VALIDATORS: { readonly [T in BusMessageType]: Validator } = {
  evict: (m) =>
    Array.isArray(m['keys']) &&
    m['keys'].every((k) => typeof k === 'string') &&
    (m['storedAt'] === undefined ||
      (Array.isArray(m['storedAt']) && m['storedAt'].length === m['keys'].length && m['storedAt'].every((at) => Number.isFinite(at)))),
  clear: () => true,
  invalidate: (m) =>
    Array.isArray(m['tags']) && m['tags'].every((k) => typeof k === 'string') && typeof m['at'] === 'number' && Number.isFinite(m['at']),
};

/** Stamps a payload with the wire version and the sender's instance id. */
export function toBusMessage(payload: BusPayload, origin: string): BusMessage {
  return { ...payload, v: BUS_MESSAGE_VERSION, origin } as BusMessage;
}

export function encodeBusMessage(message: BusMessage): string {
  return JSON.stringify(message);
}

/** Parses and validates a raw message; undefined for anything malformed or of an unknown version or type. */
export function decodeBusMessage(raw: string | Buffer): BusMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const m = parsed as Record<string, unknown>;
  if (m['v'] !== BUS_MESSAGE_VERSION || typeof m['origin'] !== 'string' || typeof m['type'] !== 'string') return undefined;
  if (!Object.hasOwn(PAYLOAD_VALIDATORS, m['type'])) return undefined;
  const validate = PAYLOAD_VALIDATORS[m['type'] as BusMessageType];
  return validate(m) ? (m as unknown as BusMessage) : undefined;
}
