/** Longest delay the bench upstream accepts (`DELAY_MS` or `POST /__delay?ms=N`). */
export const MAX_DELAY_MS = 60_000;

/**
 * The delay a request target asks for: `/__delay?ms=N` with N a whole number of milliseconds
 * from 0 to MAX_DELAY_MS gives N; anything else (another path, a missing, repeated, negative,
 * fractional or non-numeric `ms`) gives null.
 */
export function parseDelayTarget(target: string): number | null {
  const url = new URL(target, 'http://upstream.invalid');
  if (url.pathname !== '/__delay') return null;
  const values = url.searchParams.getAll('ms');
  if (values.length !== 1 || !/^\d{1,6}$/.test(values[0]!)) return null;
  const ms = Number(values[0]);
  return ms <= MAX_DELAY_MS ? ms : null;
}
