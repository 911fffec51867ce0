/** A load child's settings come from its environment; a missing or malformed one stops it at once. */
export function envText(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** A number >= 0 (a whole one when `whole`). */
export function envNumber(name: string, whole = false): number {
  const value = Number(envText(name));
  if (!(whole ? Number.isInteger(value) : Number.isFinite(value)) || value < 0) throw new Error(`${name} must be a ${whole ? 'whole ' : ''}number >= 0`);
  return value;
}
