import { COPY_NULL, copyText } from './copy-text.js';
import type { AuditEvent } from './events.js';
import { HitRow, type AuditRow } from './hit-row.js';

/**
 * Audit rows as the bytes of `COPY audit_logs … FROM STDIN` in text format (pure): one line per
 * row, tab-separated, `\n`-terminated, in COPY_COLUMNS order, as UTF-8.
 *
 * A memory hit's row (hit-row.ts) is written straight into the chunk's buffer: its five own values
 * digit by digit, then its URL and caller parts, whose bytes were made once, copied in. Building
 * the same line as a string and encoding it afterwards cost about twice as much per row (1.75
 * against 0.9 µs on the 2-core bench box), most of it in joining and re-encoding the parts' text
 * on every row. Other rows are built as strings.
 */

/**
 * The columns of a COPY line, in order: a row's own values first, then what its URL decides,
 * then who asked, then how it was answered, so a memory hit's row is its own five values
 * followed by two parts encoded ahead and a constant tail.
 */
export const COPY_COLUMNS = [
  'request_id', 'ts', 'status', 'total_ms', 'response_bytes',
  'upstream', 'method', 'path', 'query', 'action', 'resource_type', 'resource_id',
  'session_id', 'user_identifier', 'client_ip', 'user_agent',
  'cache_outcome', 'cache_tier', 'upstream_ms', 'request_bytes', 'error_code',
] as const;

/**
 * Latest `ts` (epoch ms, exclusive) a COPY may carry: up to here the INSERT path's
 * `to_timestamp(ts_ms / 1000)` lands on exactly the millisecond COPY's ISO text names (checked
 * against Postgres), so a row first copied and later replayed still meets itself in the primary
 * key. Beyond it (year 2106) float rounding could make them differ; such batches are inserted.
 */
export const COPY_MAX_TS = 2 ** 32 * 1000;

export const copiable = (row: AuditRow): boolean => row.ts >= 0 && row.ts < COPY_MAX_TS;

const TAB = 9;
const DIGIT_0 = 48;
/** The last five columns of a memory hit's row, and the line's end. */
const HIT_TAIL = Buffer.from(`HIT\tmemory\t${COPY_NULL}\t0\t${COPY_NULL}\n`, 'latin1');
/** Bytes a hit row's own values can take beyond its request id: ts 24, status 3, total_ms 25 (or its shortest text), response_bytes 16, tabs. */
const HIT_OWN_BYTES = 96;

/**
 * `ts` as ISO-8601 UTC text (`2026-01-15T12:00:00.001Z`). A batch is mostly one second's rows,
 * so the text up to the second is kept from the previous call rather than formatted again.
 */
class TimeText {
  #second = Number.NaN;
  #prefix = '';
  #prefixBytes = Buffer.alloc(0);

  #to(ms: number): number {
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      this.#second = second;
      // toISOString of a whole second ends in "000Z"; keep "...:SS.".
      this.#prefix = new Date(second * 1000).toISOString().slice(0, -4);
      this.#prefixBytes = Buffer.from(this.#prefix, 'latin1');
    }
    return ms - second * 1000;
  }

  format(ms: number): string {
    const fraction = this.#to(ms);
    return `${this.#prefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
  }

  write(buf: Buffer, at: number, ms: number): number {
    const fraction = this.#to(ms);
    buf.set(this.#prefixBytes, at);
    let off = at + this.#prefixBytes.length;
    buf[off++] = DIGIT_0 + Math.floor(fraction / 100);
    buf[off++] = DIGIT_0 + (Math.floor(fraction / 10) % 10);
    buf[off++] = DIGIT_0 + (fraction % 10);
    buf[off++] = 90; // Z
    return off;
  }
}

/** A non-negative safe integer's digits at `at`; returns the offset after them. */
function writeDigits(buf: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let rest = value;
  for (let i = at + digits - 1; i >= at; i--) {
    buf[i] = DIGIT_0 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return at + digits;
}

/** A normalised latency (three decimals at most) as the shortest decimal, the text `${ms}` gives. */
function writeMilliseconds(buf: Buffer, at: number, ms: number): number {
  const micros = Math.round(ms * 1000);
  if (!Number.isSafeInteger(micros)) return at + buf.write(String(ms), at, 'latin1');
  let off = writeDigits(buf, at, Math.floor(micros / 1000));
  let fraction = micros % 1000;
  if (fraction === 0) return off;
  buf[off++] = 46; // .
  for (let unit = 100; fraction > 0; unit /= 10) {
    const digit = Math.floor(fraction / unit);
    buf[off++] = DIGIT_0 + digit;
    fraction -= digit * unit;
  }
  return off;
}

/** Text as COPY text-format UTF-8 at `at`: byte by byte while it is plain ASCII, else escaped and encoded. */
function writeText(buf: Buffer, at: number, value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80 || c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d) return at + buf.write(copyText(value), at, 'utf8');
    buf[at + i] = c;
  }
  return at + value.length;
}

function writeHitRow(buf: Buffer, at: number, row: HitRow, time: TimeText): number {
  let off = writeText(buf, at, row.requestId);
  buf[off++] = TAB;
  off = time.write(buf, off, row.ts);
  buf[off++] = TAB;
  off = writeDigits(buf, off, row.status);
  buf[off++] = TAB;
  off = writeMilliseconds(buf, off, row.totalMs);
  buf[off++] = TAB;
  off = writeDigits(buf, off, row.responseBytes);
  buf[off++] = TAB;
  buf.set(row.route.copy, off);
  off += row.route.copy.length;
  buf[off++] = TAB;
  buf.set(row.caller.copy, off);
  off += row.caller.copy.length;
  buf[off++] = TAB;
  buf.set(HIT_TAIL, off);
  return off + HIT_TAIL.length;
}

/** A plain event's line. */
function eventLine(e: AuditEvent, time: TimeText): string {
  return (
    `${copyText(e.requestId)}\t${time.format(e.ts)}\t${e.status}\t${e.totalMs}\t${e.responseBytes}\t` +
    `${copyText(e.upstream)}\t${copyText(e.method)}\t${copyText(e.path)}\t${copyText(e.query)}\t${copyText(e.action)}\t` +
    `${copyText(e.resourceType)}\t${copyText(e.resourceId)}\t${copyText(e.sessionId)}\t${copyText(e.userIdentifier)}\t` +
    `${copyText(e.clientIp)}\t${copyText(e.userAgent)}\t${copyText(e.cacheOutcome)}\t${copyText(e.cacheTier)}\t` +
    `${e.upstreamMs ?? COPY_NULL}\t${e.requestBytes}\t${copyText(e.errorCode)}\n`
  );
}

/**
 * The rows as COPY data, or null when a row cannot be copied exactly (a `ts` outside [0,
 * COPY_MAX_TS)): the batch then goes the INSERT way. Rows are normalised (events.ts,
 * hit-row.ts): integer `ts`, finite numbers, no NUL in any text.
 */
export function encodeCopyChunk(rows: readonly AuditRow[]): Buffer | null {
  const time = new TimeText();
  const lines = new Array<string | undefined>(rows.length);
  let size = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (!copiable(row)) return null;
    if (row instanceof HitRow) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit, and escaping at most doubles the units.
      size += row.requestId.length * 6 + HIT_OWN_BYTES + row.route.copy.length + row.caller.copy.length + HIT_TAIL.length;
    } else {
      const line = eventLine(row, time);
      lines[i] = line;
      size += Buffer.byteLength(line, 'utf8');
    }
  }
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * scratch.length));
  const buf = scratch;
  let off = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    off = row instanceof HitRow ? writeHitRow(buf, off, row, time) : off + buf.write(lines[i]!, off, 'utf8');
  }
  // The room reserved is a bound, about twice what a row takes: the chunk goes out as an exact copy.
  return Buffer.from(buf.subarray(0, off));
}

/** Where chunks are written before they are copied out; grows to the largest chunk seen. */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** encodeCopyChunk's bytes as text (for reading them back). */
export function encodeCopyRows(rows: readonly AuditRow[]): string | null {
  return encodeCopyChunk(rows)?.toString('utf8') ?? null;
}
