/**
 * Pure parsers for the human units used in the config file: durations (to milliseconds) and
 * sizes (to bytes). The schema uses the patterns; the loader uses the parsers.
 */

/** What a duration may look like, in the words every config problem uses. */
export const DURATION_EXPECTED = 'must be a duration like "30s", "5m" or a number of seconds';

/** What a size may look like, in the words every config problem uses. */
export const SIZE_EXPECTED = 'must be a size like "512KB", "256MB", "1GB" or a number of bytes';

/** A number (seconds when unitless) followed by ms, s, m, h or d. */
export const DURATION_PATTERN = '^\\d+(?:\\.\\d+)?\\s*(?:ms|s|m|h|d)?$';

/** A number followed by B, KB/KiB, MB/MiB, GB/GiB or TB/TiB in any case (binary multiples). */
export const SIZE_PATTERN = '^\\d+(?:\\.\\d+)?\\s*(?:[bB]|[kKmMgGtT][iI]?[bB])?$';

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|[kmgt]i?b)?$/i;

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const BYTES_PER_UNIT: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `30` (seconds), `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"1d"` -> milliseconds (rounded to an integer). */
export function parseDuration(input: number | string): number {
  const ms = toMilliseconds(input);
  if (ms === undefined) {
    throw new RangeError(`${DURATION_EXPECTED}, got ${JSON.stringify(input)}`);
  }
  return ms;
}

/** `1048576` (bytes), `"512B"`, `"2KB"`, `"256MiB"`, `"1gb"` -> bytes, using 1024-based multiples. */
export function parseSize(input: number | string): number {
  const bytes = toBytes(input);
  if (bytes === undefined) {
    throw new RangeError(`${SIZE_EXPECTED}, got ${JSON.stringify(input)}`);
  }
  return bytes;
}

function toMilliseconds(input: number | string): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? checkedInteger(input * 1000) : undefined;
  }
  const match = DURATION_RE.exec(input.trim());
  if (!match) return undefined;
  const unit = match[2] ?? 's';
  return checkedInteger(Number(match[1]) * (MS_PER_UNIT[unit] ?? Number.NaN));
}

function toBytes(input: number | string): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const match = SIZE_RE.exec(input.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase().charAt(0);
  return checkedInteger(Number(match[1]) * (BYTES_PER_UNIT[unit] ?? Number.NaN));
}

function checkedInteger(value: number): number | undefined {
  const rounded = Math.round(value);
  return Number.isSafeInteger(rounded) ? rounded : undefined;
}
